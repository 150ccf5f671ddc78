/*
 * A guest: its memory, its one vCPU, its shadow page tables, and how it
 * ended. Guests live in a fixed table; a guest's id indexes it and tags the
 * frames it owns.
 */
#ifndef UMBRA_HV_GUEST_H
#define UMBRA_HV_GUEST_H

#include "../arch/x86/regs.h"
#include "../guest-abi/include/umbra/bootinfo.h"
#include "shadow.h"

#define MAX_GUESTS	64
#define P2M_PER_PAGE	(PAGE_SIZE / sizeof(mfn_t))

enum guest_state {
	GUEST_FREE,		/* slot unused */
	GUEST_RUNNABLE,
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

	char line[160];		/* console output waiting for its newline */
	u32 line_len;

	bool killed;
	u32 exit_code;
	char reason[128];

	u64 world_switches;
	u64 hypercalls;
};

extern struct guest guests[MAX_GUESTS];

/* A free slot with memory for mem_bytes, or NULL with the reason in why. */
struct guest *guest_create(const char *name, u32 mem_bytes, char *why, size_t whylen);

/* Return every frame the guest holds; its slot keeps the name and result. */
void guest_destroy(struct guest *g);

mfn_t guest_p2m(const struct guest *g, pfn_t pfn);

/* End the guest: on the console, with the reason, and tear it down later. */
void guest_kill(struct guest *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void guest_exit(struct guest *g, u32 code);

/* Guest console output, line-buffered and prefixed with the guest's name. */
void guest_console(struct guest *g, const char *s, size_t n);
void guest_console_flush(struct guest *g);

/* The guest that owns the CPU now, or NULL (for panic messages). */
extern struct guest *current_guest;

#endif
