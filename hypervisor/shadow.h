/*
 * Shadow page tables: the tables the CPU really walks while a guest runs.
 *
 * A guest never sees or writes them. They hold machine addresses, are
 * filled lazily on the guest's page faults from the guest's own tables
 * (each entry checked first), and always link the Switcher's page table at
 * the top of the address space.
 *
 * Before the guest installs page tables of its own it runs on a linear
 * mapping: guest-virtual address v is guest-physical v for every v in
 * [PAGE_SIZE, mem_bytes). Page 0 stays unmapped so a null pointer faults.
 *
 * Afterwards a small cache holds one shadow top level per guest table the
 * guest switched to recently (one per process, usually), chosen by the
 * guest table's address and evicted least recently used. Mappings above
 * the guest's kernel address live in leaf tables shared by every cached
 * top level, so a kernel mapping is shadowed, and changed, once.
 */
#ifndef UMBRA_HV_SHADOW_H
#define UMBRA_HV_SHADOW_H

#include "../lib/types.h"

struct guest;

#define SHADOW_DEFAULT	8
#define SHADOW_MAX	64
#define NO_TABLE	((gpa_t)-1)

struct shadow_top {
	gpa_t cr3;		/* the guest table it shadows, or NO_TABLE if unused */
	mfn_t top;		/* the shadow top-level table */
	u64 used;		/* when it was last switched to, for LRU */
};

/*
 * Top levels thrown away by FLUSH_ALL wait here and are freed one at a
 * time, each time a new top level is made: so that no single call frees
 * the trees of every cached top level. Each FLUSH_ALL adds at most one
 * cache's worth, and the cache cannot be filled again without as many
 * frees.
 */
#define SHADOW_GARBAGE	(2 * SHADOW_MAX)

struct shadow {
	bool linear;		/* still on the linear boot mapping */
	u32 ntops;		/* cache size (shadows= on the module line) */
	struct shadow_top *cur;
	struct shadow_top tops[SHADOW_MAX];
	mfn_t kernel_pts[2];	/* frames listing the shared kernel leaf tables */
	mfn_t rmap_dir;		/* guest leaf table -> the shadow built from it */
	mfn_t garbage[SHADOW_GARBAGE];	/* discarded top levels, not yet freed */
	u32 ngarbage;
	u64 clock;

	bool audit;		/* audit=1: check the shadow at every switch and flush */
	u64 faults;		/* shadow entries filled on a fault */
	u64 reflected;		/* page faults handed to the guest */
	u64 evictions;		/* top levels thrown out of the cache */
};

enum fault_result { FAULT_FIXED, FAULT_GUEST, FAULT_KILLED };

bool shadow_init(struct guest *g, u32 ntops);
void shadow_destroy(struct guest *g);

/* The CR3 to load for this guest. */
u32 shadow_cr3(const struct guest *g);

/*
 * A page fault from the guest at va with the CPU's error code. FAULT_FIXED:
 * a shadow entry now allows the access, retry. FAULT_GUEST: the guest's own
 * tables forbid it; reflect it with *guest_error, the error code the CPU
 * would have given the guest. FAULT_KILLED: a bad guest entry ended it.
 */
enum fault_result shadow_fault(struct guest *g, gva_t va, u32 error, u32 *guest_error);

/*
 * Translate a guest-virtual address the guest handed to a hypercall, as a
 * ring-1 read (or write), setting accessed and dirty bits as the CPU would.
 * False if the guest has no such mapping (or killed it for a bad entry).
 */
bool shadow_translate(struct guest *g, gva_t va, bool write, gpa_t *gpa);

/* The page-table hypercalls (see guest-abi/include/umbra/hypercall.h). */
s32 shadow_new_pgtable(struct guest *g, gpa_t cr3);
s32 shadow_set_entry(struct guest *g, unsigned level, gpa_t cr3, gva_t va, u64 value);
s32 shadow_set_pgd(struct guest *g, gpa_t cr3, u32 index, u64 value);
s32 shadow_flush(struct guest *g, u32 kind, gva_t va);
s32 shadow_update_range(struct guest *g, gpa_t cr3, gva_t va, u32 pages);
s32 shadow_protect_range(struct guest *g, gpa_t cr3, gva_t va, u32 pages, u32 set);

struct umbra_mmu_update;
/*
 * MMU_UPDATE: n entries named by their guest-physical address, already
 * copied out of guest memory. Returns 0, or UMBRA_EINVAL once the guest is
 * killed.
 */
s32 shadow_mmu_update(struct guest *g, const struct umbra_mmu_update *u, u32 n);

/*
 * RELEASE_PGTABLE: the guest will no longer use the table at cr3; drop
 * the shadow made from it. UMBRA_EINVAL if it is the current table.
 */
s32 shadow_release(struct guest *g, gpa_t cr3);

/* kernel_base was set while page tables are in use: start the shadows anew. */
void shadow_kernel_base_set(struct guest *g);

/*
 * Audit mode (shadow_audit.c): every present entry of top level t agrees
 * with the guest's tables, or the guest is killed saying where it does
 * not. `when` names the call, for the message.
 */
bool shadow_audit(struct guest *g, const struct shadow_top *t, const char *when);

/* Keep the guest kernel's stack mapped and writable in the current shadow. */
bool shadow_pin_stack(struct guest *g);

/* One line of statistics for the debug keys. */
void shadow_print_stats(const struct guest *g);

#endif
