/*
 * What the simulator's files share; shadow_sim.h is what the tests see.
 *
 *   sim_machine.c  the machine (RAM, frames, the Switcher's table, console),
 *                  random decisions, failures and the trace
 *   sim_model.c    the guest and its memory, its tables read as the ABI
 *                  says, and the model: top levels, kernel tables, stale
 *                  addresses
 *   sim_check.c    the shadow read the way the CPU reads it, and the checker
 *   sim_guest.c    the guest kernel: choosing addresses and values, and its
 *                  page-table changes, announced or silent
 *   sim_access.c   accesses, translations and flushes
 *   sim_range.c    UPDATE_RANGE, PROTECT_RANGE and SWITCH, valid and hostile
 *   sim_hostile.c  raw operations (the fuzzer) and hostile operations
 *   sim_run.c      a run, from the linear boot mapping to the leak check
 */
#ifndef UMBRA_TESTS_SIM_INTERNAL_H
#define UMBRA_TESTS_SIM_INTERNAL_H

#include "shadow_sim.h"
#include "mm/frame.h"
#include "mm/phys.h"
#include "mm/pt.h"

#define F		(&pt_native)
#define PAE		(F->levels == 3)
#define LEVELS		((unsigned)F->levels)
#define LEAF		(LEVELS - 1u)
#define DIR		(LEVELS - 2u)
#define SW_BASE		(F->switcher_base)
#define DIR_SHIFT	(F->level[DIR].shift)
#define DIR_SPAN	((u32)pt_span(F, DIR))
#define DIR_SLOTS	(1u << (32 - DIR_SHIFT))
#define LEAF_ENTRIES	((unsigned)F->level[LEAF].entries)
#define GIB		(1ull << 30)
#define LINEAR_CR3	((gpa_t)-2)
#define GPA_NONE	((gpa_t)-1)

#define P	PTE_P
#define W	PTE_W
#define U	PTE_U
#define A	PTE_A
#define D	PTE_D

#define RAM_BYTES	MiB(64)
#define MAX_TOPS	12

/* ---- sim_machine.c: the machine, decisions, failures --------------------- */

extern mfn_t sw_pt;

/* Random decisions: a seeded generator or a fuzzer's bytes. */
struct source {
	u64 state;
	const u8 *data;
	size_t len, pos;
	bool out;		/* the fuzzer's bytes ran out */
};

extern struct source src;
u32 next32(void);
u32 pick(u32 n);
bool coin(unsigned percent);
u64 next64(void);

extern u64 run_seed, run_step;
extern bool run_failed, tracing, stop_run;
extern unsigned trace_next;

__attribute__((format(printf, 1, 2)))
void note(const char *fmt, ...);
__attribute__((format(printf, 2, 3)))
void fail(enum sim_check k, const char *fmt, ...);

/* ---- sim_model.c: the guest, its tables, the model ------------------------ */

extern struct guest *g;
extern pfn_t nr_pfns;
extern u32 *rev;		/* machine frame -> guest frame + 1, or 0 */

void *gptr(gpa_t a);
#define gget sim_gget
#define gset sim_gset
bool alive(void);
extern bool pressure;
bool starved(void);

pte_t addr_mask(void);

struct walk {
	gpa_t at[PT_MAX_LEVELS];
	pte_t e[PT_MAX_LEVELS];
	bool w, u;
};

int walk(gpa_t cr3, gva_t va, struct walk *w);
void table_free(gpa_t a);

struct dmap;
extern unsigned ntops, max_tops;
extern gpa_t tops[MAX_TOPS];
extern struct dmap *dmaps[MAX_TOPS], *kdirty;
extern int cur;			/* index in tops, -1 while linear */
extern u32 kbase, user_end;
extern pte_t kpde[2048];	/* the kernel's directory entries, by slot */
extern gpa_t kpmd[4];		/* PAE: the shared directory of an all-kernel GiB */
extern u32 stack_lo, stack_hi;	/* the pinned kernel stack, if any */

void dm_all(struct dmap *d, bool set);
bool kernel_va(u64 va);
void dirty(int t, u64 start, u64 end, bool set);
void silent_change(int t, u64 start, u64 end);
bool is_dirty(int t, gva_t va);
bool in_stack(u64 va);
bool stack_slot(u64 va);
int model_top(gpa_t cr3);
struct shadow_top *cached(gpa_t cr3);
void forget_evicted(void);
bool gib_all_user(unsigned i0);
bool gib_all_kernel(unsigned i0);
gpa_t dir_entry_at(gpa_t cr3, gva_t va);
gpa_t leaf_entry_at(gpa_t cr3, gva_t va);

/* ---- sim_check.c: the checker --------------------------------------------- */

void check_all(bool agree);
bool shadow_has_leaf(const struct shadow_top *t, gva_t va);
pte_t shadow_entry_of(const struct shadow_top *t, gva_t va);

/* ---- sim_guest.c: the guest kernel ---------------------------------------- */

void choose_hot(void);
u32 hot_slot(bool kernel);
gva_t va_in(u32 slot);
gva_t hot_va(bool kernel);
bool want_kernel(void);
pfn_t any_frame(void);
pte_t not_present(void);
pte_t leaf_value(gva_t va);

extern unsigned nrecent[MAX_TOPS + 1];
bool recent_va(gva_t *va);
bool call_ok(s32 r, const char *what);
void remember(int t, gva_t va);
bool announce_leaf(int t, gva_t va, gpa_t at, pte_t v);

int top_new(void);
void switch_to(int t);
void op_retire(void);
void op_switch(void);
bool kernel_dir_set(u32 slot, gva_t va, pte_t v, bool announce);
void op_dir(bool kernel, int t, gva_t va);
void op_pdpte(int t, unsigned i0);
gpa_t need_leaf(int t, gva_t va, bool kernel);
void op_leaf(bool kernel, bool announce);

/* ---- sim_access.c: accesses, translations, flushes ------------------------ */

void op_access(void);
void op_translate(void);
void flush(u32 kind, gva_t va);
void op_flush(void);
void op_edit_flush(void);

/* ---- sim_range.c: UPDATE_RANGE, PROTECT_RANGE and SWITCH -------------------- */

void op_update_range(void);
void op_protect_range(void);
void op_mmu_update(void);
int hostile_protect_bits(gva_t va, char *what, size_t len, char *want, size_t wlen);
int hostile_protect_stack(char *what, size_t len, char *want, size_t wlen);
bool map_stack(u32 lo, u32 hi);
void switch_call(int t, bool new_stack);
int hostile_range_entry(gva_t va, char *what, size_t len, char *want, size_t wlen);
int hostile_range_args(gva_t va, char *what, size_t len, char *want, size_t wlen);
int hostile_range_stack(char *what, size_t len, char *want, size_t wlen);
int hostile_switch_stack(char *what, size_t len, char *want, size_t wlen);

/* ---- sim_hostile.c: raw and hostile operations ---------------------------- */

enum { H_LEAF_RESERVED, H_LEAF_BEYOND, H_DIR_LARGE, H_DIR_RESERVED, H_DIR_BEYOND, H_TOP_BITS,
       H_GARBAGE_FAULT, H_GARBAGE_TRANSLATE, H_GARBAGE_SET, H_BAD_CR3, H_SWITCHER_VA,
       H_OUTSIDE_CR3, H_STACK, H_RANGE_ENTRY, H_RANGE_ARGS, H_RANGE_STACK, H_SWITCH_STACK,
       H_PROTECT_BITS, H_PROTECT_STACK, H_KINDS };

void op_raw(void);
void hostile(unsigned kind);

#endif
