/*
 * Shadow page tables (see shadow.h for the shape of things).
 *
 * The invariants, which every function here keeps:
 *
 *  1. A present shadow entry never allows more than the guest's own tables
 *     allow at that moment, as far as the guest has told us: same frame
 *     (translated to a machine frame), user only if every guest level says
 *     user, writable only if every level says writable AND the guest's leaf
 *     entry is already dirty. The last part is what keeps dirty bits true:
 *     the first write to a clean page faults, and we set D in the guest's
 *     entry before making the shadow writable. A is set the same way when a
 *     shadow entry is first made.
 *
 *  2. Every guest entry is checked before anything is built from it.
 *
 *  3. Shadow tables are edited only while the guest is not running, and
 *     entering the guest reloads CR3, which flushes every TLB entry the
 *     shadows can have (they never set the global bit). So no invlpg is
 *     needed here, and PAE's top-level entries, which the CPU caches at
 *     the CR3 load, never change once a top level exists.
 *
 *  4. Frames are reference counted: a shadow table holds one reference for
 *     each table linking it. Kernel leaf tables are linked from every
 *     cached top level plus their own list; the Switcher's table from
 *     every top level. Dropping a top level drops exactly its references.
 *
 *  5. No call does work in proportion to the number of cached top levels
 *     times their size: FLUSH_ALL discards the other top levels whole (to
 *     the garbage list, freed one per new top level) and rebuilds only the
 *     current one.
 */
#include "shadow.h"
#include "console.h"
#include "guest.h"
#include "guest_mem.h"
#include "guest_pt.h"
#include "../arch/x86/paging.h"
#include "../arch/x86/switcher.h"
#include "../guest-abi/include/umbra/hypercall.h"
#include "../mm/phys.h"
#include "../mm/pt.h"
#include "../lib/string.h"

#define F	(&pt_native)
#define LEAF	(F->leaf)	/* level of the tables holding page entries */
#define DIR	(F->dir)	/* level whose entries link leaf tables */
#define LINEAR_CR3	((gpa_t)-2)

/*
 * The linear boot mapping is open to ring 3 as well: like a CPU with
 * paging off, a guest without page tables has no user/supervisor split.
 */
#define LINEAR_FLAGS	(PTE_P | PTE_W | PTE_U | PTE_A | PTE_D)

/* Error code bits of a page fault (Intel SDM vol. 3, 4.7). */
#define PF_P		1u
#define PF_W		2u
#define PF_U		4u

static pte_t link(mfn_t m, unsigned level)
{
	return ((pte_t)m << PAGE_SHIFT) | pt_link_flags(F, level);
}

/* ---- kernel leaf tables, shared by every top level ---------------------- */

static bool is_kernel(const struct guest *g, gva_t va)
{
	return !g->shadow.linear && g->kernel_base && va >= g->kernel_base;
}

static mfn_t *kernel_pt(struct guest *g, gva_t va)
{
	u32 slot = va >> F->level[DIR].shift;
	mfn_t *list = mfn_to_virt(g->shadow.kernel_pts[slot / P2M_PER_PAGE]);

	return &list[slot % P2M_PER_PAGE];
}

/* The table at DIR in top t covering va; it always exists. */
static void *dir_table(struct guest *g, struct shadow_top *t, gva_t va)
{
	return pt_table_at(F, mfn_to_virt(t->top), DIR, va, false, FRAME_SHADOW, g->id);
}

static void link_kernel_pt(struct guest *g, struct shadow_top *t, gva_t va, mfn_t m)
{
	pte_set(F, dir_table(g, t, va), pt_index(F, DIR, va), link(m, DIR));
	frame_get(m);
}

/* The shadow leaf table for va in t; made (and linked) if `create`. */
static void *leaf_table(struct guest *g, struct shadow_top *t, gva_t va, bool create)
{
	struct shadow *s = &g->shadow;
	mfn_t *slot;

	if (!is_kernel(g, va))
		return pt_table_at(F, mfn_to_virt(t->top), LEAF, va, create, FRAME_SHADOW, g->id);
	slot = kernel_pt(g, va);
	if (!*slot) {
		mfn_t m;

		if (!create || (m = frame_alloc_zeroed(FRAME_SHADOW, g->id)) == MFN_NONE)
			return NULL;
		*slot = m;
		for (unsigned i = 0; i < s->ntops; i++)
			if (s->tops[i].cr3 != NO_TABLE)
				link_kernel_pt(g, &s->tops[i], va, m);
	}
	return mfn_to_virt(*slot);
}

/* ---- from a guest leaf table to its shadow -------------------------------- */

/*
 * MMU_UPDATE names an entry by where it lives, so it needs the way back
 * from a guest leaf table to the shadow leaf table built from it. Each
 * guest frame has a slot { shadow frame, where it is linked }; the shadow
 * frame's tag says which guest frame it was built from and with which
 * directory permissions. A slot is trusted only if the frame is still this
 * guest's shadow, tagged with that guest frame, and still linked where the
 * slot says, in a live top level or the kernel list: so a slot left behind
 * by a freed, discarded or reused table is simply stale. A guest table
 * shadowed in two live places is marked RMAP_MANY, and an update of it
 * falls back to a full flush.
 */
struct rmap_slot {
	mfn_t shadow;		/* 0: none */
	u32 where;		/* WHERE_KERNEL | top index << WHERE_TOP_SHIFT | directory slot */
};

#define RMAP_PER_PAGE	(PAGE_SIZE / sizeof(struct rmap_slot))
#define RMAP_MANY	((mfn_t)-2)	/* not MFN_NONE, which rmap_find returns for "none" */
#define WHERE_KERNEL	0x80000000u
#define WHERE_TOP_SHIFT	12
#define WHERE_SLOT	0xfffu
#define TAG_VALID	1u
#define TAG_WRITE	2u
#define TAG_USER	4u
#define TAG_SHIFT	3

static u32 leaf_tag(pfn_t gfn, bool write, bool user)
{
	return gfn << TAG_SHIFT | (user ? TAG_USER : 0) | (write ? TAG_WRITE : 0) | TAG_VALID;
}

static gva_t where_va(u32 where)
{
	return (where & WHERE_SLOT) << F->level[DIR].shift;
}

static struct rmap_slot *rmap_at(struct guest *g, pfn_t gfn, bool create)
{
	mfn_t *dir = mfn_to_virt(g->shadow.rmap_dir);
	mfn_t *page = &dir[gfn / RMAP_PER_PAGE];

	if (!*page) {
		mfn_t m;

		if (!create || (m = frame_alloc_zeroed(FRAME_SHADOW, g->id)) == MFN_NONE)
			return NULL;
		*page = m;
	}
	return &((struct rmap_slot *)mfn_to_virt(*page))[gfn % RMAP_PER_PAGE];
}

/* Whether shadow leaf m is linked where `where` says. */
static bool linked(struct guest *g, mfn_t m, u32 where)
{
	gva_t va = where_va(where);
	struct shadow_top *t;
	pte_t e;
	void *d;

	if (where & WHERE_KERNEL)
		return is_kernel(g, va) && *kernel_pt(g, va) == m;
	t = &g->shadow.tops[where >> WHERE_TOP_SHIFT];
	if (t->cr3 == NO_TABLE || is_kernel(g, va))
		return false;
	d = dir_table(g, t, va);
	e = pte_get(F, d, pt_index(F, DIR, va));
	return (e & PTE_P) && pte_mfn(F, e) == m;	/* the CPU may have set A there */
}

/* The live shadow built from guest leaf table gfn: its frame, MFN_NONE, or RMAP_MANY. */
static mfn_t rmap_find(struct guest *g, pfn_t gfn, const struct rmap_slot **out)
{
	const struct rmap_slot *r = rmap_at(g, gfn, false);
	const struct frame *f;

	if (!r || !r->shadow)
		return MFN_NONE;
	if (r->shadow == RMAP_MANY)
		return RMAP_MANY;
	f = frame_info(r->shadow);
	if (f->owner != FRAME_SHADOW || f->guest != g->id || !(f->tag & TAG_VALID) ||
	    f->tag >> TAG_SHIFT != gfn || !linked(g, r->shadow, r->where))
		return MFN_NONE;
	*out = r;
	return r->shadow;
}

/*
 * Shadow leaf table m, linked in t at va's directory slot, now holds
 * entries made from guest leaf table gfn under these permissions. False
 * if no frame could be had for the map.
 */
static bool rmap_note(struct guest *g, struct shadow_top *t, gva_t va, mfn_t m, pfn_t gfn,
		      bool write, bool user)
{
	u32 tag = leaf_tag(gfn, write, user), old = frame_info(m)->tag;
	u32 where = (va >> F->level[DIR].shift) |
		    (is_kernel(g, va) ? WHERE_KERNEL : (u32)(t - g->shadow.tops) << WHERE_TOP_SHIFT);
	const struct rmap_slot *live;
	struct rmap_slot *r;

	if (old == tag)
		return true;
	r = rmap_at(g, gfn, true);
	if (!r)
		return false;
	if (old != FRAME_NO_TAG) {
		/* Filled from another table or under other permissions: no fast path for either. */
		struct rmap_slot *o = rmap_at(g, old >> TAG_SHIFT, false);

		if (o)
			o->shadow = RMAP_MANY;
		r->shadow = RMAP_MANY;
	} else if (rmap_find(g, gfn, &live) == MFN_NONE) {
		*r = (struct rmap_slot){ m, where };
	} else {
		r->shadow = RMAP_MANY;	/* a second live shadow of the same table */
	}
	frame_set_tag(m, tag);
	return true;
}

/*
 * A shadow leaf table is about to get an entry from the guest table this
 * walk (down to the leaf level) found: say so in the reverse map, so that
 * one filled from two tables (after a directory entry changed without a
 * word) loses the fast path instead of being missed by MMU_UPDATE.
 */
static bool note_walk(struct guest *g, struct shadow_top *t, gva_t va, void *table,
		      const struct gwalk *w)
{
	if (rmap_note(g, t, va, virt_to_mfn(table), (pfn_t)(pte_addr(F, w->e[LEAF - 1]) >> PAGE_SHIFT),
		      w->write, w->user))
		return true;
	guest_kill(g, "out of memory for shadow page tables at 0x%x", va);
	return false;
}

static void rmap_destroy(struct guest *g)
{
	mfn_t *dir;

	if (!g->shadow.rmap_dir || g->shadow.rmap_dir == MFN_NONE)
		return;
	dir = mfn_to_virt(g->shadow.rmap_dir);
	for (unsigned i = 0; i < P2M_PER_PAGE; i++)
		if (dir[i])
			frame_put(dir[i]);
	frame_put(g->shadow.rmap_dir);
	g->shadow.rmap_dir = MFN_NONE;
}

/* ---- top levels --------------------------------------------------------- */

static void free_top(struct shadow_top *t)
{
	if (t->cr3 == NO_TABLE)
		return;
	pt_put_tree(F, t->top, 0);
	t->cr3 = NO_TABLE;
}

/* Free the oldest discarded top level, if any. */
static void collect(struct shadow *s)
{
	if (s->ngarbage)
		pt_put_tree(F, s->garbage[--s->ngarbage], 0);
}

/* Take t out of the cache now; its tree is freed later, by collect(). */
static void discard_top(struct shadow *s, struct shadow_top *t)
{
	if (t->cr3 == NO_TABLE)
		return;
	if (s->ngarbage == SHADOW_GARBAGE)
		collect(s);
	s->garbage[s->ngarbage++] = t->top;
	t->cr3 = NO_TABLE;
}

/*
 * A new top level: PAE's four directories made at once (see invariant 3),
 * the Switcher linked, and every kernel leaf table that exists linked.
 */
static bool alloc_top(struct guest *g, struct shadow_top *t, gpa_t cr3)
{
	unsigned sl = F->switcher_level;
	void *top, *sw;

	collect(&g->shadow);
	t->top = frame_alloc_zeroed(FRAME_SHADOW, g->id);
	if (t->top == MFN_NONE)
		return false;
	t->cr3 = cr3;
	top = mfn_to_virt(t->top);
	for (unsigned i = 0; DIR > 0 && i < F->level[0].entries; i++) {
		mfn_t m = frame_alloc_zeroed(FRAME_SHADOW, g->id);

		if (m == MFN_NONE)
			return false;
		pte_set(F, top, i, link(m, 0));
	}
	sw = pt_table_at(F, top, sl, F->switcher_base, false, FRAME_SHADOW, g->id);
	pte_set(F, sw, pt_index(F, sl, F->switcher_base), link(switcher_guest_pt(), sl));
	frame_get(switcher_guest_pt());
	for (u64 va = g->kernel_base; !g->shadow.linear && g->kernel_base && va < F->switcher_base;
	     va += pt_span(F, DIR))
		if (*kernel_pt(g, (u32)va))
			link_kernel_pt(g, t, (u32)va, *kernel_pt(g, (u32)va));
	return true;
}

static struct shadow_top *find_top(struct shadow *s, gpa_t cr3)
{
	for (unsigned i = 0; i < s->ntops; i++)
		if (s->tops[i].cr3 == cr3)
			return &s->tops[i];
	return NULL;
}

/* An unused slot, or the least recently used top level, thrown out. */
static struct shadow_top *victim(struct shadow *s)
{
	struct shadow_top *v = &s->tops[0];

	for (unsigned i = 0; i < s->ntops; i++) {
		if (s->tops[i].cr3 == NO_TABLE)
			return &s->tops[i];
		if (s->tops[i].used < v->used)
			v = &s->tops[i];
	}
	klog(LOG_DEBUG, "umbra: shadow of table 0x%x evicted (least recently used)\n", v->cr3);
	free_top(v);
	s->evictions++;
	return v;
}

bool shadow_init(struct guest *g, u32 ntops)
{
	struct shadow *s = &g->shadow;

	for (unsigned i = 0; i < SHADOW_MAX; i++)
		s->tops[i].cr3 = NO_TABLE;
	s->ntops = ntops;
	for (unsigned i = 0; i < ARRAY_SIZE(s->kernel_pts); i++) {
		s->kernel_pts[i] = frame_alloc_zeroed(FRAME_SHADOW, g->id);
		if (s->kernel_pts[i] == MFN_NONE)
			return false;
	}
	s->rmap_dir = frame_alloc_zeroed(FRAME_SHADOW, g->id);
	if (s->rmap_dir == MFN_NONE)
		return false;
	s->linear = true;
	s->cur = &s->tops[0];
	return alloc_top(g, s->cur, LINEAR_CR3);
}

void shadow_destroy(struct guest *g)
{
	struct shadow *s = &g->shadow;

	if (!s->ntops)
		return;		/* never initialised */
	for (unsigned i = 0; i < SHADOW_MAX; i++)
		free_top(&s->tops[i]);
	while (s->ngarbage)
		collect(s);
	rmap_destroy(g);
	for (unsigned i = 0; i < ARRAY_SIZE(s->kernel_pts); i++) {
		mfn_t *list;

		if (!s->kernel_pts[i] || s->kernel_pts[i] == MFN_NONE)
			continue;
		list = mfn_to_virt(s->kernel_pts[i]);
		for (unsigned j = 0; j < P2M_PER_PAGE; j++)
			if (list[j])
				frame_put(list[j]);
		frame_put(s->kernel_pts[i]);
		s->kernel_pts[i] = MFN_NONE;
	}
}

u32 shadow_cr3(const struct guest *g)
{
	return g->shadow.cur->top << PAGE_SHIFT;
}

static inline __attribute__((always_inline)) pte_t make_spte(const struct guest *g, pte_t gpte,
								 bool write, bool user)
{
	mfn_t m = guest_p2m(g, (pfn_t)(pte_addr(F, gpte) >> PAGE_SHIFT));
	pte_t s = ((pte_t)m << PAGE_SHIFT) | PTE_P | PTE_A | PTE_D | (gpte & (PTE_PWT | PTE_PCD));

	if (user)
		s |= PTE_U;
	if (write && (gpte & PTE_D))
		s |= PTE_W;
	return s;
}

/*
 * make_spte() for the update loops, where the permissions above the leaf
 * are fixed for a whole table: `allow` is the leaf flags that pass (U only
 * if the levels above allow it), `write` is W if they allow writing. The
 * flags are 32-bit arithmetic whatever the format; e must be valid. The
 * machine frame may lie above 4 GiB (PAE), so the address is the one
 * 64-bit part; the 2-level build keeps only the low word, which holds it.
 */
static inline __attribute__((always_inline)) pte_t spte_fast(const mfn_t *p2m_dir, u32 e,
							       u32 allow, u32 write)
{
	u32 pfn = e >> PAGE_SHIFT;
	const mfn_t *p2m = mfn_to_virt(p2m_dir[pfn / P2M_PER_PAGE]);

	mfn_t m = p2m[pfn % P2M_PER_PAGE];
	/* Writable only once dirty (invariant 1): W is kept only beside D. */
	u32 lo = m << PAGE_SHIFT | (e & allow) | (u32)(PTE_P | PTE_A | PTE_D) |
		 (e & write & (e & (u32)PTE_D) >> (6 - 1));

	if (F->entry_bytes == 4)
		return lo;
	return (pte_t)(m >> (32 - PAGE_SHIFT)) << 32 | lo;
}

/*
 * guest_entry_valid() for a leaf entry, in 32-bit arithmetic: guest memory
 * is below 4 GiB (at most 1 GiB), so a valid entry has nothing set above
 * bit 31, and its frame is the low word's.
 */
static inline __attribute__((always_inline)) bool leaf_valid_fast(const struct guest *g, pte_t e)
{
	u32 lo = (u32)e;

	return !(e >> 32) && !(lo & ~(u32)F->level[LEAF].allowed & ~PAGE_MASK) &&
	       lo >> PAGE_SHIFT < g->nr_pfns;
}

static u32 spte_allow(bool user)
{
	return (u32)(PTE_P | PTE_A | PTE_D | PTE_PWT | PTE_PCD) | (user ? (u32)PTE_U : 0);
}

/* Make the shadow entry for va in t from a complete walk. */
static bool fill(struct guest *g, struct shadow_top *t, gva_t va, struct gwalk *w, bool write)
{
	void *table;

	guest_set_accessed(g, w, write);
	table = leaf_table(g, t, va, true);
	if (!table || !rmap_note(g, t, va, virt_to_mfn(table), (pfn_t)(pte_addr(F, w->e[LEAF - 1]) >> PAGE_SHIFT),
				 w->dir_write, w->dir_user)) {
		guest_kill(g, "out of memory for shadow page tables at 0x%x", va);
		return false;
	}
	pte_set(F, table, pt_index(F, LEAF, va), make_spte(g, w->e[LEAF], w->write, w->user));
	return true;
}

/* ---- faults and translations -------------------------------------------- */

static bool linear_ok(const struct guest *g, gva_t va)
{
	return va >= PAGE_SIZE && va < g->mem_bytes;
}

/*
 * The linear mapping cannot change and has no accessed bits to keep true,
 * so a fault fills the whole leaf table around it: one fault per 4 MiB
 * (2 MiB with PAE) of guest memory rather than one per page.
 */
static enum fault_result linear_fault(struct guest *g, gva_t va, u32 error, u32 *guest_error)
{
	u32 span = pt_span(F, DIR), first = va & ~(span - 1);
	void *t;

	*guest_error = error;
	if (!linear_ok(g, va))
		return FAULT_GUEST;
	t = leaf_table(g, g->shadow.cur, va, true);
	if (!t) {
		guest_kill(g, "out of memory for shadow page tables at 0x%x", va);
		return FAULT_KILLED;
	}
	if (pte_get(F, t, pt_index(F, LEAF, va)) & PTE_P)
		return FAULT_GUEST;
	for (u32 a = MAX(first, PAGE_SIZE); a - first < span && a < g->mem_bytes; a += PAGE_SIZE)
		pte_set(F, t, pt_index(F, LEAF, a),
			((pte_t)guest_p2m(g, a >> PAGE_SHIFT) << PAGE_SHIFT) | LINEAR_FLAGS);
	g->shadow.faults++;
	return FAULT_FIXED;
}

/*
 * Fault-around: the neighbours of a faulting page are likely next. Those
 * the guest has already marked accessed can be shadowed now without
 * making any accessed bit lie (writable only if already dirty, as ever);
 * the rest wait for their own fault. A neighbour with a bad entry is
 * skipped, not punished: the guest has not used it.
 */
#define AROUND	16

static void fault_around(struct guest *g, gva_t va, const struct gwalk *w, void *table)
{
	const void *gtable = guest_phys_ptr(g, pte_addr(F, w->e[LEAF - 1]));
	unsigned idx = pt_index(F, LEAF, va), first = idx & ~(AROUND - 1u);

	for (unsigned i = first; i < first + AROUND; i++) {
		pte_t e = pte_get(F, gtable, i);

		if (i == idx || !(e & PTE_P) || !(e & PTE_A) || !guest_entry_valid(g, LEAF, e) ||
		    (pte_get(F, table, i) & PTE_P))
			continue;
		pte_set(F, table, i, make_spte(g, e, w->dir_write && (e & PTE_W),
					       w->dir_user && (e & PTE_U)));
	}
}

/*
 * The kernel stack is [esp1 - pages * PAGE_SIZE, esp1); with an unaligned
 * esp1 that covers one page more than `pages`. These are its first page
 * and the page after its last.
 */
static u32 stack_bottom(const struct guest *g)
{
	return ALIGN_DOWN(g->esp1 - g->stack_pages * PAGE_SIZE, PAGE_SIZE);
}

static u32 stack_top(const struct guest *g)
{
	return ALIGN_UP(g->esp1, PAGE_SIZE);
}

/* Whether a change to the mappings of [start, end) can reach the kernel stack. */
static bool touches_stack(const struct guest *g, u64 start, u64 end)
{
	return g->ss1 && start < stack_top(g) && end > stack_bottom(g);
}

/*
 * The error code the guest would have seen: W and U are the access's, as
 * the CPU reported them; P says whether the guest's own translation was
 * present, which the CPU, looking at the shadow, could not know.
 */
enum fault_result shadow_fault(struct guest *g, gva_t va, u32 error, u32 *guest_error)
{
	struct shadow *s = &g->shadow;
	bool write = error & PF_W, user = error & PF_U;
	struct gwalk w;
	int r;

	if (s->linear)
		return linear_fault(g, va, error, guest_error);
	if (va >= F->switcher_base) {
		/* Segment limits stop the guest first; never follow the Switcher's link. */
		*guest_error = error;
		s->reflected++;
		return FAULT_GUEST;
	}
	r = guest_walk(g, "page fault", s->cur->cr3, va, F->levels, &w);
	if (r < 0)
		return FAULT_KILLED;
	if (r < (int)F->levels || (write && !w.write) || (user && !w.user)) {
		*guest_error = (error & ~PF_P) | (r == (int)F->levels ? PF_P : 0);
		s->reflected++;
		return FAULT_GUEST;
	}
	/* A stack page is filled writable even on a read: it must stay so. */
	if (!fill(g, s->cur, va, &w, write || (w.write && touches_stack(g, va, (u64)va + 1))))
		return FAULT_KILLED;
	fault_around(g, va, &w, leaf_table(g, s->cur, va, false));
	s->faults++;
	return FAULT_FIXED;
}

bool shadow_translate(struct guest *g, gva_t va, bool write, gpa_t *gpa)
{
	struct gwalk w;

	if (g->shadow.linear) {
		*gpa = va;
		return linear_ok(g, va);
	}
	if (va >= F->switcher_base ||
	    guest_walk(g, "hypercall buffer", g->shadow.cur->cr3, va, F->levels, &w) != (int)F->levels ||
	    (write && !w.write))
		return false;
	guest_set_accessed(g, &w, write);
	*gpa = pte_addr(F, w.e[LEAF]) | (va & ~PAGE_MASK);
	return true;
}

/* The stack is already mapped writable in the current shadow. */
static bool stack_mapped(struct guest *g)
{
	for (u32 va = stack_bottom(g); va < stack_top(g); va += PAGE_SIZE) {
		void *t = leaf_table(g, g->shadow.cur, va, false);

		if (!t || (pte_get(F, t, pt_index(F, LEAF, va)) & (PTE_P | PTE_W)) != (PTE_P | PTE_W))
			return false;
	}
	return true;
}

bool shadow_pin_stack(struct guest *g)
{
	struct shadow *s = &g->shadow;

	if (s->linear || !g->ss1)
		return true;
	for (u32 va = stack_bottom(g); va < stack_top(g); va += PAGE_SIZE) {
		struct gwalk w;
		int r = guest_walk(g, "kernel stack", s->cur->cr3, va, F->levels, &w);

		if (r < 0)
			return false;
		if (r < (int)F->levels || !w.write) {
			guest_kill(g, "kernel stack page 0x%x is not mapped writable by page table 0x%x",
				   va, s->cur->cr3);
			return false;
		}
		if (!fill(g, s->cur, va, &w, true))
			return false;
	}
	return true;
}

/* ---- the page-table hypercalls ------------------------------------------ */

static bool valid_top(const struct guest *g, gpa_t cr3)
{
	u32 size = F->level[0].entries * F->entry_bytes;

	return cr3 % F->top_align == 0 && cr3 < g->mem_bytes &&
	       g->mem_bytes - cr3 >= size;
}

/* The top-level table a call names, checked; false once the guest is killed. */
static bool named_top_ok(struct guest *g, const char *who, gpa_t cr3)
{
	if (valid_top(g, cr3))
		return true;
	guest_kill(g, "%s: 0x%x is not a %s top-level table inside guest memory", who, cr3, F->name);
	return false;
}

s32 shadow_new_pgtable(struct guest *g, gpa_t cr3)
{
	struct shadow *s = &g->shadow;
	struct shadow_top *t;

	if (!named_top_ok(g, "new_pgtable", cr3))
		return UMBRA_EINVAL;
	if (s->linear) {
		klog(LOG_DEBUG, "umbra: guest \"%s\": page table 0x%x ends the linear boot mapping\n",
		     g->name, cr3);
		free_top(s->cur);
		s->linear = false;
	}
	t = find_top(s, cr3);
	if (!t) {
		t = victim(s);
		if (!alloc_top(g, t, cr3)) {
			free_top(t);
			guest_kill(g, "out of memory for shadow page tables (new_pgtable 0x%x)", cr3);
			return UMBRA_ENOMEM;
		}
	}
	t->used = ++s->clock;
	s->cur = t;
	if (s->audit && !shadow_audit(g, t, "new_pgtable"))
		return UMBRA_EINVAL;
	if (!g->ss1 || stack_mapped(g))
		return 0;
	return shadow_pin_stack(g) ? 0 : UMBRA_EINVAL;
}

s32 shadow_release(struct guest *g, gpa_t cr3)
{
	struct shadow *s = &g->shadow;
	struct shadow_top *t;

	if (!named_top_ok(g, "release_pgtable", cr3))
		return UMBRA_EINVAL;
	t = s->linear ? NULL : find_top(s, cr3);
	if (t == s->cur)
		return UMBRA_EINVAL;
	if (t)
		discard_top(s, t);
	return 0;
}

/* Throw away the shadow leaf tables for [start, end) in the top for cr3. */
static void drop_leaf_tables(struct guest *g, struct shadow_top *t, u64 start, u64 end)
{
	for (u64 va = start; va < end && va < F->switcher_base; va += pt_span(F, DIR)) {
		if (is_kernel(g, (u32)va)) {
			if (*kernel_pt(g, (u32)va))
				memset(mfn_to_virt(*kernel_pt(g, (u32)va)), 0, PAGE_SIZE);
		} else if (t) {
			void *d = dir_table(g, t, (u32)va);
			unsigned i = pt_index(F, DIR, (u32)va);
			pte_t e = pte_get(F, d, i);

			if (e & PTE_P) {
				pte_set(F, d, i, 0);
				pt_put_tree(F, pte_mfn(F, e), LEAF);
			}
		}
	}
}

/*
 * SET_PTE (level LEAF) and SET_PMD (level DIR, PAE): store the value in
 * the guest's table and bring the shadows in line. A leaf the guest has
 * already marked accessed is shadowed at once, saving the fault that would
 * follow (most kernels set A and D themselves when they map a page).
 */
s32 shadow_set_entry(struct guest *g, unsigned level, gpa_t cr3, gva_t va, u64 value)
{
	const char *who = level == LEAF ? "set_pte" : "set_pmd";
	struct gwalk w;
	int r;

	if (va >= F->switcher_base) {
		guest_kill(g, "%s: 0x%x lies in the Switcher region", who, va);
		return UMBRA_EINVAL;
	}
	if (!valid_top(g, cr3)) {
		guest_kill(g, "%s: top-level table 0x%x is outside guest memory", who, cr3);
		return UMBRA_EINVAL;
	}
	if ((value & PTE_P) && !guest_entry_check(g, who, level, va, value))
		return UMBRA_EINVAL;
	r = guest_walk(g, who, cr3, va, level, &w);
	if (r < 0)
		return UMBRA_EINVAL;
	if (r < (int)level)
		return UMBRA_EINVAL;	/* the table that would hold it is not linked */
	w.at[level] = (r ? pte_addr(F, w.e[level - 1]) : cr3) + pt_index(F, level, va) * F->entry_bytes;
	guest_pte_write(g, w.at[level], value);
	if (g->shadow.linear)
		return 0;
	if (level == DIR) {
		drop_leaf_tables(g, find_top(&g->shadow, cr3), va, (u64)va + 1);
	} else {
		struct shadow_top *t = is_kernel(g, va) ? g->shadow.cur : find_top(&g->shadow, cr3);
		void *table = t ? leaf_table(g, t, va, false) : NULL;

		if (table) {
			bool ready = (value & PTE_P) && (value & PTE_A);

			if (!note_walk(g, t, va, table, &w))
				return UMBRA_ENOMEM;
			w.e[LEAF] = value;
			pte_set(F, table, pt_index(F, LEAF, va),
				ready ? make_spte(g, value, w.write && (value & PTE_W),
						  w.user && (value & PTE_U)) : 0);
		}
	}
	if (!touches_stack(g, ALIGN_DOWN((u64)va, pt_span(F, level)),
			   ALIGN_DOWN((u64)va, pt_span(F, level)) + pt_span(F, level)))
		return 0;
	return shadow_pin_stack(g) ? 0 : UMBRA_EINVAL;
}

/*
 * Bring one shadow leaf table in line with the guest's leaf table, entries
 * [first, end): an entry with P and A is checked and shadowed (as a fault
 * would, but without one), any other entry dropped. `w` is the walk down
 * to the leaf table, for its address and the permissions above it.
 */
static bool resync_leaf(struct guest *g, gva_t span, const struct gwalk *w, void *table,
			unsigned first, unsigned end)
{
	const void *gtable = guest_phys_ptr(g, pte_addr(F, w->e[LEAF - 1]));
	const mfn_t *p2m_dir = mfn_to_virt(g->p2m_dir);
	u32 allow = spte_allow(w->user), write = w->write ? (u32)PTE_W : 0;

	for (unsigned i = first; i < end; i++) {
		pte_t e = pte_get(F, gtable, i), spte = 0;

		if ((e & (PTE_P | PTE_A)) == (PTE_P | PTE_A)) {
			if (__builtin_expect(!leaf_valid_fast(g, e), 0)) {
				guest_entry_check(g, "update_range", LEAF,
						  span + (i << F->level[LEAF].shift), e);
				return false;
			}
			spte = spte_fast(p2m_dir, (u32)e, allow, write);
		}
		pte_set(F, table, i, spte);
	}
	return true;
}

/* The range a range call names, checked; false once the guest is killed. */
static bool range_ok(struct guest *g, const char *who, gpa_t cr3, gva_t va, u32 pages)
{
	u64 end = (u64)va + (u64)pages * PAGE_SIZE;

	if (va % PAGE_SIZE || pages < 1 || pages > UMBRA_RANGE_MAX) {
		guest_kill(g, "%s: 0x%x + %u pages is not a page-aligned range of 1 to %u pages",
			   who, va, pages, UMBRA_RANGE_MAX);
		return false;
	}
	if (end > F->switcher_base) {
		guest_kill(g, "%s: 0x%x + %u pages reaches into the Switcher region", who, va, pages);
		return false;
	}
	return named_top_ok(g, who, cr3);
}

s32 shadow_update_range(struct guest *g, gpa_t cr3, gva_t va, u32 pages)
{
	u64 end = (u64)va + (u64)pages * PAGE_SIZE, span = pt_span(F, DIR);
	struct shadow_top *t;

	if (!range_ok(g, "update_range", cr3, va, pages))
		return UMBRA_EINVAL;
	if (g->shadow.linear)
		return 0;
	t = find_top(&g->shadow, cr3);
	for (u64 at = va; at < end; at = ALIGN_DOWN(at, span) + span) {
		struct shadow_top *owner = is_kernel(g, (u32)at) ? g->shadow.cur : t;
		void *table = owner ? leaf_table(g, owner, (u32)at, false) : NULL;
		u64 stop = MIN(end, ALIGN_DOWN(at, span) + span);
		struct gwalk w;
		int r;

		if (!table)
			continue;
		r = guest_walk(g, "update_range", cr3, (u32)at, LEAF, &w);
		if (r < 0)
			return UMBRA_EINVAL;
		if (r < (int)LEAF)
			continue;	/* unlinked without a word: as stale as a TLB until a flush */
		if (!note_walk(g, owner, (u32)at, table, &w))
			return UMBRA_ENOMEM;
		if (!resync_leaf(g, (u32)ALIGN_DOWN(at, span), &w, table, pt_index(F, LEAF, (u32)at),
				 pt_index(F, LEAF, (u32)(stop - 1)) + 1))
			return UMBRA_EINVAL;
	}
	if (!touches_stack(g, va, end))
		return 0;
	return shadow_pin_stack(g) ? 0 : UMBRA_EINVAL;
}

/*
 * Write-protect leaf entries [first, end) of one guest leaf table and of
 * its shadow, if there is one; how many guest entries changed.
 */
static u32 protect_leaf(void *gtable, void *table, unsigned first, unsigned end, u32 set)
{
	/* P, W and the software bits are in an entry's low word in both formats (little-endian). */
	const unsigned stride = F->entry_bytes / 4;
	u32 *g = (u32 *)gtable + first * stride, *s = table ? (u32 *)table + first * stride : NULL;
	u32 changed = 0;

	for (unsigned i = first; i < end; i++, g += stride) {
		u32 e = *g;

		if ((e & (PTE_P | PTE_W)) == (PTE_P | PTE_W)) {
			*g = (e & ~(u32)PTE_W) | set;
			changed++;
		}
	}
	for (unsigned i = first; s && i < end; i++, s += stride)
		*s &= ~(u32)PTE_W;
	return changed;
}

/*
 * The hypervisor itself wrote entries [first, last) of guest table `table`
 * (PROTECT_RANGE). If the named top level also uses that table as a
 * directory (a self-map), those entries are directory entries too, and
 * the shadow leaf tables made under them, which allowed writes, go: they
 * are made again, read-only, on use. Invariant 1 holds for what the
 * hypervisor does on its own; a guest's own in-place changes follow the
 * usual rule (announced at their level, or flushed). True if any went,
 * which may have taken the kernel stack's mapping with them.
 */
static bool protect_selfmap(struct guest *g, struct shadow_top *t, gpa_t cr3, gpa_t table,
			    unsigned first, unsigned last)
{
	bool dropped = false;

	for (unsigned k = 0; k < (DIR ? F->level[0].entries : 1u); k++) {
		gpa_t dir = DIR ? pte_addr(F, guest_pte_read(g, cr3 + k * F->entry_bytes)) : cr3;
		u64 base = DIR ? (u64)k << F->level[0].shift : 0;

		if (DIR && !(guest_pte_read(g, cr3 + k * F->entry_bytes) & PTE_P))
			continue;
		if (dir != table)
			continue;
		for (unsigned i = first; i < last; i++)
			drop_leaf_tables(g, t, base + ((u64)i << F->level[DIR].shift),
					 base + ((u64)(i + 1) << F->level[DIR].shift));
		dropped = true;
	}
	return dropped;
}

/*
 * PROTECT_RANGE: fork's write-protect, done here in one pass over the
 * guest's leaf tables and their shadows. Every present leaf entry in the
 * range with W loses W and gains `set` (software bits only), and so does
 * its shadow lose W. Permissions only shrink and no frame changes, so no
 * entry needs checking. Unlike UPDATE_RANGE it writes the guest's tables,
 * so it walks every leaf table in the range, shadowed or not.
 */
s32 shadow_protect_range(struct guest *g, gpa_t cr3, gva_t va, u32 pages, u32 set)
{
	u64 end = (u64)va + (u64)pages * PAGE_SIZE, span = pt_span(F, DIR);
	struct shadow_top *t;
	bool restack = false;
	u32 changed = 0;

	if (!range_ok(g, "protect_range", cr3, va, pages))
		return UMBRA_EINVAL;
	if (set & ~(u32)PTE_AVAIL) {
		guest_kill(g, "protect_range: bits 0x%x to set are not software bits (0x%x)", set,
			   (u32)PTE_AVAIL);
		return UMBRA_EINVAL;
	}
	t = g->shadow.linear ? NULL : find_top(&g->shadow, cr3);
	for (u64 at = va; at < end; at = ALIGN_DOWN(at, span) + span) {
		struct shadow_top *owner = is_kernel(g, (u32)at) ? g->shadow.cur : t;
		u64 stop = MIN(end, ALIGN_DOWN(at, span) + span);
		unsigned first = pt_index(F, LEAF, (u32)at), last = pt_index(F, LEAF, (u32)(stop - 1)) + 1;
		struct gwalk w;
		int r = guest_walk(g, "protect_range", cr3, (u32)at, LEAF, &w);
		gpa_t table;

		if (r < 0)
			return UMBRA_EINVAL;
		if (r < (int)LEAF)
			continue;
		table = pte_addr(F, w.e[LEAF - 1]);
		changed += protect_leaf(guest_phys_ptr(g, table),
					owner ? leaf_table(g, owner, (u32)at, false) : NULL, first, last, set);
		if (t && protect_selfmap(g, t, cr3, table, first, last))
			restack = true;
	}
	if ((restack || touches_stack(g, va, end)) && !shadow_pin_stack(g))
		return UMBRA_EINVAL;
	return (s32)changed;
}

/*
 * What MMU_UPDATE knows of the guest table it is in: updates come in runs
 * within one table, and nothing inside one call frees or makes a shadow,
 * so the table's reverse-map lookup is done once per run.
 */
struct upd_table {
	pfn_t gfn;		/* the guest table, or NO_GFN */
	void *guest;		/* its page, to store into */
	void *shadow;		/* the shadow built from it, NULL if none */
	u32 allow, write;	/* the permissions above it, for spte_fast() */
	const mfn_t *p2m_dir;
};

/* What a whole call must do after its entries. */
struct upd_after {
	bool flush;		/* a table had more than one shadow: flush everything */
	bool restack;		/* a table maps the kernel stack in the current shadow */
};

#define NO_GFN	((pfn_t)-1)

static void upd_table_load(struct guest *g, struct upd_table *c, struct upd_after *after, pfn_t gfn)
{
	const struct rmap_slot *r;
	mfn_t m = g->shadow.linear ? MFN_NONE : rmap_find(g, gfn, &r);

	*c = (struct upd_table){ .gfn = gfn, .guest = guest_phys_ptr(g, (gpa_t)gfn << PAGE_SHIFT) };
	if (m == RMAP_MANY) {
		after->flush = true;
	} else if (m != MFN_NONE) {
		u32 tag = frame_info(m)->tag;
		gva_t va = where_va(r->where);

		c->shadow = mfn_to_virt(m);
		c->allow = spte_allow(tag & TAG_USER);
		c->write = tag & TAG_WRITE ? (u32)PTE_W : 0;
		c->p2m_dir = mfn_to_virt(g->p2m_dir);
		if (touches_stack(g, va, va + pt_span(F, DIR)) && ((r->where & WHERE_KERNEL) ||
		    r->where >> WHERE_TOP_SHIFT == (u32)(g->shadow.cur - g->shadow.tops)))
			after->restack = true;
	}
}

static bool bad_address(struct guest *g, u64 at)
{
	guest_kill(g, "mmu_update: 0x%llx is not the address of an entry inside guest memory", at);
	return false;
}

/*
 * One MMU_UPDATE entry: check it, store it, and bring the shadow built
 * from its table in line, found through the reverse map with no walk.
 */
static inline __attribute__((always_inline)) bool update_one(struct guest *g, struct upd_table *c,
							     struct upd_after *after, u64 at, pte_t value)
{
	u32 lo = (u32)value, where = (u32)at;
	unsigned i = (where % PAGE_SIZE) / F->entry_bytes;

	if ((at >> 32) || where % F->entry_bytes || where >= g->mem_bytes)
		return bad_address(g, at);
	if ((lo & PTE_P) && !leaf_valid_fast(g, value) &&
	    !guest_entry_check_gpa(g, "mmu_update", LEAF, where, value))
		return false;
	if (where >> PAGE_SHIFT != c->gfn)
		upd_table_load(g, c, after, where >> PAGE_SHIFT);
	pte_set(F, c->guest, i, value);
	if (c->shadow)
		pte_set(F, c->shadow, i, (lo & (PTE_P | PTE_A)) == (PTE_P | PTE_A) ?
			spte_fast(c->p2m_dir, lo, c->allow, c->write) : 0);
	return true;
}

static void flush_all(struct guest *g);

s32 shadow_mmu_update(struct guest *g, const struct umbra_mmu_update *u, u32 n)
{
	struct upd_table c = { .gfn = NO_GFN };
	struct upd_after after = { false, false };

	for (u32 k = 0; k < n; k++)
		if (!update_one(g, &c, &after, u[k].ptr, u[k].val))
			return UMBRA_EINVAL;
	if (after.flush)
		flush_all(g);
	if ((after.restack || after.flush) && !shadow_pin_stack(g))
		return UMBRA_EINVAL;
	return 0;
}

s32 shadow_set_pgd(struct guest *g, gpa_t cr3, u32 index, u64 value)
{
	u64 start = (u64)index << F->level[0].shift;

	if (index >= F->level[0].entries || start >= F->switcher_base) {
		guest_kill(g, "set_pgd: index %u out of range (0-%u)", index,
			   (unsigned)((F->switcher_base - 1) >> F->level[0].shift));
		return UMBRA_EINVAL;
	}
	if (!valid_top(g, cr3)) {
		guest_kill(g, "set_pgd: top-level table 0x%x is outside guest memory", cr3);
		return UMBRA_EINVAL;
	}
	if ((value & PTE_P) && !guest_entry_check(g, "set_pgd", 0, (u32)start, value))
		return UMBRA_EINVAL;
	guest_pte_write(g, cr3 + index * F->entry_bytes, value);
	if (g->shadow.linear)
		return 0;
	drop_leaf_tables(g, find_top(&g->shadow, cr3), start, start + pt_span(F, 0));
	if (!touches_stack(g, start, start + pt_span(F, 0)))
		return 0;
	return shadow_pin_stack(g) ? 0 : UMBRA_EINVAL;
}

/* Drop the list's reference to every kernel leaf table. */
static void drop_kernel_pts(struct guest *g)
{
	for (u64 va = g->kernel_base; g->kernel_base && va < F->switcher_base; va += pt_span(F, DIR)) {
		mfn_t *slot = kernel_pt(g, (u32)va);

		if (*slot) {
			frame_put(*slot);
			*slot = 0;
		}
	}
}

/*
 * Every mapping of every table: the other top levels are discarded (they
 * are made again, empty, when the guest next switches to them), the
 * kernel leaf tables are let go, and the current top level is rebuilt.
 */
static void flush_all(struct guest *g)
{
	struct shadow *s = &g->shadow;
	struct shadow_top *cur = s->cur;
	gpa_t cr3 = cur->cr3;

	for (unsigned i = 0; i < s->ntops; i++)
		if (&s->tops[i] != cur)
			discard_top(s, &s->tops[i]);
	drop_kernel_pts(g);
	free_top(cur);
	if (!alloc_top(g, cur, cr3)) {
		free_top(cur);
		guest_kill(g, "out of memory for shadow page tables (flush_tlb all)");
	}
}

s32 shadow_flush(struct guest *g, u32 kind, gva_t va)
{
	struct shadow *s = &g->shadow;
	u32 user_end = g->kernel_base ? g->kernel_base : F->switcher_base;
	void *table;

	if (s->linear)
		return kind <= UMBRA_FLUSH_ALL ? 0 : UMBRA_EINVAL;
	switch (kind) {
	case UMBRA_FLUSH_ONE:
		if (va < F->switcher_base && (table = leaf_table(g, s->cur, va, false)))
			pte_set(F, table, pt_index(F, LEAF, va), 0);
		if (!touches_stack(g, va, (u64)va + 1))
			return 0;
		break;
	case UMBRA_FLUSH_USER:
		drop_leaf_tables(g, s->cur, 0, user_end);
		break;
	case UMBRA_FLUSH_ALL:
		flush_all(g);
		break;
	default:
		return UMBRA_EINVAL;
	}
	if (s->audit && !shadow_audit(g, s->cur, "flush_tlb"))
		return UMBRA_EINVAL;
	return shadow_pin_stack(g) ? 0 : UMBRA_EINVAL;
}

void shadow_kernel_base_set(struct guest *g)
{
	if (g->shadow.linear)
		return;
	flush_all(g);
	shadow_pin_stack(g);
}

void shadow_print_stats(const struct guest *g)
{
	const struct shadow *s = &g->shadow;
	unsigned cached = 0;

	for (unsigned i = 0; i < s->ntops; i++)
		cached += s->tops[i].cr3 != NO_TABLE;
	kprintf("umbra: guest \"%s\": shadow faults %llu, reflected faults %llu, evictions %llu, "
		"top levels %u/%u (%u discarded, not yet freed), shadow pages %u%s\n", g->name,
		s->faults, s->reflected, s->evictions, cached, s->ntops, s->ngarbage,
		frame_count_owned(FRAME_SHADOW, g->id), s->linear ? " (linear boot mapping)" : "");
}
