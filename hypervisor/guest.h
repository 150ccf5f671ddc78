/*
 * A guest: its memory, its one vCPU, its shadow page tables, and how it
 * ended. Guests live in a fixed table; a guest's id indexes it and tags the
 * frames it owns.
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

enum guest_state {
	GUEST_FREE,		/* slot unused */
	GUEST_RUNNABLE,
	GUEST_HALTED,		/* asleep until a virtual interrupt is pending */
	GUEST_DEAD,		/* ended; waits for its frames to be returned */
	GUEST_GONE,		/* ended and torn down; kept for the summary */
};

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

	bool killed;
	u32 exit_code;
	char reason[128];

	u64 world_switches;
	u64 hypercalls;
	u64 exits[EXIT_REASONS];
	u32 hcalls[UMBRA_HC_COUNT];
};

extern struct guest guests[MAX_GUESTS];

/* A free slot with memory for mem_bytes, or NULL with the reason in why. */
struct guest *guest_create(const char *name, u32 mem_bytes, u32 shadows, char *why, size_t whylen);

/* Return every frame the guest holds; its slot keeps the name and result. */
void guest_destroy(struct guest *g);

/* The machine frame behind guest frame pfn (which must be below nr_pfns). */
static inline mfn_t guest_p2m(const struct guest *g, pfn_t pfn)
{
	const mfn_t *dir = mfn_to_virt(g->p2m_dir);
	const mfn_t *leaf = mfn_to_virt(dir[pfn / P2M_PER_PAGE]);

	return leaf[pfn % P2M_PER_PAGE];
}

/* End the guest: on the console, with the reason, and tear it down later. */
void guest_kill(struct guest *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void guest_exit(struct guest *g, u32 code);

/* Guest console output, line-buffered and prefixed with the guest's name. */
void guest_console(struct guest *g, const char *s, size_t n);
void guest_console_flush(struct guest *g);

/* The guest that owns the CPU now, or NULL (for panic messages). */
extern struct guest *current_guest;

#endif
