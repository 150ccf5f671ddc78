/*
 * A guest: its memory, its one vCPU, its shadow page tables, and how it
 * ended. Guests live in a fixed table; a guest's id indexes it and tags the
 * frames it owns.
 *
 * A guest's life, each step in one function of guest.c:
 *
 *   FREE --guest_create--> BUILDING --guest_start--> RUNNABLE <--> HALTED
 *                             |                         |           |
 *                             |            guest_kill, guest_end, guest_exit
 *                             |                         v           v
 *                             +-----guest_teardown--- DYING --------+
 *                             v (refused module)        |
 *                           FREE                 guest_teardown
 *                                                       v
 *                                                     GONE (kept for the summary)
 *
 * Teardown is the one place where frames go back, whichever way the guest
 * ended. A guest is killed for its own misdeeds from inside its own work
 * (a hypercall, a fault, an entry): guest_kill() then unwinds straight to
 * the run loop, so no caller has to check whether its callee killed.
 */
#ifndef UMBRA_HV_GUEST_H
#define UMBRA_HV_GUEST_H

#include "../arch/x86/desc.h"
#include "../arch/x86/regs.h"
#include "../guest-abi/include/umbra/bootinfo.h"
#include "../guest-abi/include/umbra/hypercall.h"
#include "../guest-abi/include/umbra/shared.h"
#include "shadow.h"
#include "../mm/phys.h"

#define MAX_GUESTS	64

/* Why a guest came back to the hypervisor, for its statistics. */
enum exit_reason {
	EXIT_HYPERCALL,
	EXIT_SHADOW_FAULT,	/* a page fault the shadow tables absorbed */
	EXIT_REFLECTED,		/* an exception handed back to the guest */
	EXIT_INTERRUPT,		/* a real interrupt, the hypervisor's */
	EXIT_FPU,		/* first FPU use in a time slice */
	EXIT_REASONS
};
#define P2M_PER_PAGE	(PAGE_SIZE / sizeof(mfn_t))

/*
 * failsafe_test= on a module line, a test of the Switcher's failsafe: the
 * hypervisor itself breaks the guest's 100th entry (a selector naming the
 * LDT, which does not exist, or eip beyond the code segment, which QEMU's
 * TCG does not check at iret) after the checks, so that the way in
 * faults in ring 0 and the guest must be killed, naming the fault.
 */
enum failsafe_test {
	FAILSAFE_NONE, FAILSAFE_GS, FAILSAFE_FS, FAILSAFE_ES, FAILSAFE_DS, FAILSAFE_CS, FAILSAFE_EIP,
	FAILSAFE_TESTS
};

enum guest_state {
	GUEST_FREE,		/* slot unused */
	GUEST_BUILDING,		/* being loaded; never scheduled */
	GUEST_RUNNABLE,
	GUEST_HALTED,		/* asleep until a virtual interrupt is pending */
	GUEST_DYING,		/* ended; its frames are still held */
	GUEST_GONE,		/* torn down, every frame returned; kept for the summary */
	GUEST_STATES
};

/*
 * Where guest_kill() unwinds to: set by the run loop around a guest's
 * work. The host-side tests run that work without one, and then a kill
 * returns and the code after it returns an error, as it must anyway.
 */
#ifdef UMBRA_HOSTED
#include <setjmp.h>
typedef jmp_buf unwind_t;
#define unwind_set(u)	setjmp(u)
#define unwind_jump(u)	longjmp(u, 1)
#else
typedef void *unwind_t[5];
#define unwind_set(u)	__builtin_setjmp(u)
#define unwind_jump(u)	__builtin_longjmp(u, 1)
#endif

struct guest {
	u8 id;
	enum guest_state state;
	char name[UMBRA_NAME_MAX];
	char cmdline[UMBRA_CMDLINE_MAX];

	u32 mem_bytes;
	pfn_t nr_pfns;
	mfn_t p2m_dir;		/* frame of frames of guest frame -> machine frame */

	struct guest_regs regs;	/* saved while another guest has the CPU */
	struct shadow shadow;
	bool yielded;
	unwind_t *unwind;	/* inside the guest's work: where a kill goes */
	u32 mc_done;		/* entries of a pending MULTICALL already run */
	s32 batch_entry;	/* the MULTICALL entry running, or -1 */
	u8 failsafe_test;	/* enum failsafe_test */

	/* What the guest told us about itself, each value checked. */
	struct umbra_shared *shared;	/* NULL until registered */
	u32 kernel_base;
	u32 syscall_vector;		/* 0: none */
	gate_desc_t idt[VEC_COUNT];	/* the guest's own gates */
	seg_desc_t tls[GDT_TLS_COUNT];
	u32 ss1, esp1, stack_pages;	/* the guest kernel's stack */

	/* Time, in TSC ticks; 0 means none. */
	u64 timer_deadline;
	u64 kill_deadline;		/* from timeout= on the module line */
	u64 run_tsc;			/* time spent running */

	u8 fpu[512] __attribute__((aligned(16)));	/* FXSAVE image */

	char line[160];		/* console output waiting for its newline */
	u32 line_len;
	u32 con_tokens;		/* console budget left, in bytes (guest_console.c) */
	u64 con_refill_tsc;	/* when it was last refilled; 0: never */
	u32 con_cut;		/* bytes cut since the guest went over budget */
	u32 con_call_left;	/* what the console_write being run may still print */
	u32 con_call_cut;	/* and what it could not */
	bool con_over;

	/* Console input (console_in.c): a ring of what was typed for the guest. */
	u8 in_buf[256];
	u16 in_head, in_len;
	u32 in_dropped;
	bool in_reader;		/* it has called CONSOLE_READ */

	bool killed;
	u32 exit_code;
	char reason[256];

	u64 world_switches;
	u64 calls;		/* calls, the entries of batches each counted */
	u64 exits[EXIT_REASONS];
	u32 hcalls[UMBRA_HC_COUNT];
};

extern struct guest guests[MAX_GUESTS];

/*
 * A free slot with memory for mem_bytes, BUILDING, or NULL with the reason
 * in why. guest_start() makes it RUNNABLE once it is loaded; a guest that
 * cannot be loaded goes to guest_teardown() and its slot back to FREE.
 */
struct guest *guest_create(const char *name, u32 mem_bytes, u32 shadows, char *why, size_t whylen);
void guest_start(struct guest *g);

/* Whether the guest can still run (RUNNABLE or HALTED). */
static inline bool guest_alive(const struct guest *g)
{
	return g->state == GUEST_RUNNABLE || g->state == GUEST_HALTED;
}

/*
 * Return every frame the guest holds. A DYING guest becomes GONE and
 * keeps its name and result for the summary; a BUILDING one becomes FREE.
 */
void guest_teardown(struct guest *g);

/* The machine frame behind guest frame pfn (which must be below nr_pfns). */
static inline mfn_t guest_p2m(const struct guest *g, pfn_t pfn)
{
	const mfn_t *dir = mfn_to_virt(g->p2m_dir);
	const mfn_t *leaf = mfn_to_virt(dir[pfn / P2M_PER_PAGE]);

	return leaf[pfn % P2M_PER_PAGE];
}

/*
 * End the guest for something it did wrong, saying why on the console.
 * Inside the guest's own work this does not return: it unwinds to the run
 * loop. Elsewhere (the host-side tests) it returns, and the caller must
 * only return an error from then on.
 */
void guest_kill(struct guest *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* End the guest from outside its work (a time-out); never unwinds. */
void guest_end(struct guest *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The guest asked to end with this exit code; unwinds as guest_kill does. */
void guest_exit(struct guest *g, u32 code);

/*
 * Guest console output (guest_console.c): filtered, line-buffered,
 * prefixed with the guest's name, and within the guest's console budget.
 */
void guest_console(struct guest *g, const char *s, size_t n);
void guest_console_call(struct guest *g);	/* a console_write starts */
void guest_console_call_end(struct guest *g);	/* and ends */
void guest_console_flush(struct guest *g);

/* The guest that owns the CPU now, or NULL (for panic messages). */
extern struct guest *current_guest;

#endif
