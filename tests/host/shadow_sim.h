/*
 * A simulated guest kernel driving the shadow page tables on the build
 * machine, and a checker that compares every shadow entry with the guest's
 * own tables after each step.
 *
 * hypervisor/shadow.c, guest.c and guest_mem.c are built unchanged for one
 * paging format (-DUMBRA_PAE=0 or 1) over simulated RAM with the real frame
 * allocator. The guest side is the simulator's (sim_*.c, see
 * sim_internal.h): it writes page-table entries straight into guest memory
 * and calls the shadow functions exactly as the hypercall and page-fault
 * paths do. Random decisions come from a seeded generator (test_shadow.c)
 * or from a fuzzer's bytes (fuzz_shadow.c).
 */
#ifndef UMBRA_TESTS_SHADOW_SIM_H
#define UMBRA_TESTS_SHADOW_SIM_H

#include <stddef.h>

#include "arch/x86/paging.h"
#include "hypervisor/guest.h"

/* What a run checks; each kind gets one result line. */
enum sim_check {
	CK_AGREE,	/* present shadow entries agree with the guest's tables */
	CK_FAULT,	/* fault and translate results, guest error codes */
	CK_AD,		/* accessed and dirty bits in the guest's entries */
	CK_CALLS,	/* page-table calls in valid use succeed, never kill */
	CK_STRUCT,	/* shadow structure, reference counts, frame counts */
	CK_STACK,	/* the kernel stack stays mapped writable */
	CK_LEAK,	/* every frame comes back after guest_teardown */
	CK_HOSTILE,	/* bad entries and arguments kill the guest cleanly */
	CK_COUNT
};

extern const char *const sim_check_names[CK_COUNT];

struct sim_options {
	u64 seed;		/* for the random generator, if data is NULL */
	const u8 *data;		/* a fuzzer's input: decisions are read from it */
	size_t len;
	unsigned steps;		/* steps after the linear phase (a cap, with data) */
	bool hostile;		/* end with one hostile operation */
	bool raw;		/* allow raw-valued operations (the fuzzer) */
	bool trace;		/* print every operation */
};

struct sim_totals {
	u64 steps, seeds;
	u64 accesses, fixed, reflected, not_present, translations, set_calls, ranges, range_shadowed, flushes, switches;
	u64 silent, checks, stale_skipped, kills, starved;
	u64 evictions;
	unsigned fails[CK_COUNT];
	char first[CK_COUNT][1024];	/* the first failure of each kind */
	char trace[CK_COUNT][2048];	/* the operations before it */
};

extern struct sim_totals sim_totals;
extern bool sim_abort_on_failure;	/* the fuzzer: abort() at the first failure, */
extern void (*sim_before_abort)(enum sim_check k);	/* after calling this */

/* Simulated RAM, the frame allocator and the Switcher's table; once. */
void sim_machine_init(void);

/* One guest: create, linear phase, steps, optional hostile end, teardown. */
bool sim_run(const struct sim_options *o);

/* ---- pieces for directed tests ------------------------------------------ */

struct guest *sim_guest_new(u32 mem_bytes, u32 shadows, u32 kernel_base);
/* Destroy the guest made by sim_guest_new; false if a frame leaked. */
bool sim_guest_end(char *why, size_t len);
gpa_t sim_table_alloc(void);	/* a zeroed guest page for a table */
pte_t sim_gget(gpa_t a);
void sim_gset(gpa_t a, pte_t v);
/* The present shadow leaf entry for va in the current top level, or 0. */
pte_t sim_shadow_entry(gva_t va);
/* The same in the cached shadow of top cr3 (0 if it is not cached). */
pte_t sim_shadow_entry_of(gpa_t cr3, gva_t va);
mfn_t sim_switcher_pt(void);
bool sim_switcher_intact(void);
/* Take all but `leave` free frames away (memory pressure), and give them back. */
void sim_hog_frames(u32 leave);
void sim_unhog_frames(void);
/* The last line the hypervisor printed. */
const char *sim_last_message(void);

#endif
