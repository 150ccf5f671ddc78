/*
 * The guest's memory and tables as the ABI reads them, and the model kept
 * beside them (see sim_internal.h).
 *
 * A silent change is like a change a real CPU has not yet noticed: until a
 * flush that covers it, the shadow may keep the old translation, as a TLB
 * would. So the model keeps, per top level, the addresses changed silently
 * since the last covering flush ("dirty"), and the checker leaves those out.
 * Everything else must agree exactly with the guest's tables, read from
 * guest memory at check time: the guest's memory is the model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

/* ---- the guest and its memory ------------------------------------------- */

struct guest *g;
pfn_t nr_pfns;
static mfn_t *p2m;		/* the guest's frame map, read once at creation */
u32 *rev;			/* machine frame -> guest frame + 1, or 0 */
static u32 free_before;

void *gptr(gpa_t a)
{
	if ((a >> PAGE_SHIFT) >= nr_pfns) {
		fprintf(stderr, "shadow_sim: model bug: gpa 0x%x beyond guest memory\n", a);
		abort();
	}
	return (u8 *)mfn_to_virt(p2m[a >> PAGE_SHIFT]) + (a & ~PAGE_MASK);
}

pte_t sim_gget(gpa_t a)
{
	void *p = gptr(a);

	return F->entry_bytes == 8 ? *(u64 *)p : *(u32 *)p;
}

void sim_gset(gpa_t a, pte_t v)
{
	void *p = gptr(a);

	if (F->entry_bytes == 8)
		*(u64 *)p = v;
	else
		*(u32 *)p = (u32)v;
}

bool alive(void)
{
	return g->state == GUEST_RUNNABLE;
}

/*
 * Memory pressure: all but a few free frames taken away, so that shadow
 * tables run out. The guest may then die for want of frames, which is no
 * failure; it must die cleanly, and give every frame back.
 */
static mfn_t *hog;
static unsigned nhog;
bool pressure;

void sim_hog_frames(u32 leave)
{
	if (!hog)
		hog = calloc(RAM_BYTES >> PAGE_SHIFT, sizeof(*hog));
	while (frame_count(FRAME_FREE) > leave)
		hog[nhog++] = frame_alloc(FRAME_HYPERVISOR, NO_GUEST);
}

void sim_unhog_frames(void)
{
	while (nhog)
		frame_put(hog[--nhog]);
}

bool starved(void)
{
	return pressure && !alive() && strstr(g->reason, "out of memory");
}

/*
 * The entry rules, written out from the ABI rather than taken from
 * paging.h: PAE's top level takes P, PWT, PCD, the software bits, and A
 * and D (which umbra's own emulation may set through a self-map); other
 * table levels take W, U, A, and D and G, which the CPU ignores there;
 * leaves the same. No large pages.
 */
pte_t addr_mask(void)
{
	return PAE ? 0x000ffffffffff000ull : 0xfffff000ull;
}

static pte_t allowed(unsigned level)
{
	if (PAE && level == 0)
		return P | PTE_PWT | PTE_PCD | A | D | PTE_AVAIL;
	return P | W | U | PTE_PWT | PTE_PCD | A | D | PTE_G | PTE_AVAIL;
}

static bool entry_ok(unsigned level, pte_t e)
{
	return !(e & ~(allowed(level) | addr_mask())) && ((e & addr_mask()) >> PAGE_SHIFT) < nr_pfns;
}

/* Levels present from the top (LEVELS: a translation), or -1 for a bad entry. */
int walk(gpa_t cr3, gva_t va, struct walk *w)
{
	gpa_t table = cr3;

	w->w = w->u = true;
	for (unsigned l = 0; l < LEVELS; l++) {
		w->at[l] = table + pt_index(F, l, va) * F->entry_bytes;
		w->e[l] = gget(w->at[l]);
		if (!(w->e[l] & P))
			return (int)l;
		if (!entry_ok(l, w->e[l]))
			return -1;
		if (!PAE || l > 0) {
			w->w &= !!(w->e[l] & W);
			w->u &= !!(w->e[l] & U);
		}
		table = pte_addr(F, w->e[l]);
	}
	return (int)LEVELS;
}

/* ---- guest frames for page tables --------------------------------------- */

static pfn_t *pool;
static u8 *in_pool;
static unsigned npool;

gpa_t sim_table_alloc(void)
{
	pfn_t pfn;

	if (!npool)
		return GPA_NONE;
	pfn = pool[--npool];
	in_pool[pfn] = 0;
	memset(gptr(pfn << PAGE_SHIFT), 0, PAGE_SIZE);
	return pfn << PAGE_SHIFT;
}

void table_free(gpa_t a)
{
	pfn_t pfn = a >> PAGE_SHIFT;

	if (in_pool[pfn]) {
		fprintf(stderr, "shadow_sim: model bug: table 0x%x freed twice\n", a);
		abort();
	}
	in_pool[pfn] = 1;
	pool[npool++] = pfn;
}

/* ---- the model: top levels, kernel tables, stale addresses -------------- */

/* Guest pages whose translation may be stale in one shadow, one bit each. */
struct dmap {
	bool any, full;
	u64 bits[(1u << 20) / 64];
};

unsigned ntops, max_tops;
gpa_t tops[MAX_TOPS];
struct dmap *dmaps[MAX_TOPS], *kdirty;
int cur;			/* index in tops, -1 while linear */
u32 kbase, user_end;
pte_t kpde[2048];		/* the kernel's directory entries, by slot */
gpa_t kpmd[4];			/* PAE: the shared directory of an all-kernel GiB */
u32 stack_lo, stack_hi;		/* the pinned kernel stack, if any */

static bool dm_test(const struct dmap *d, gva_t va)
{
	u32 p = va >> PAGE_SHIFT;

	return d->full || (d->any && (d->bits[p / 64] >> (p % 64) & 1));
}

static void dm_range(struct dmap *d, u64 start, u64 end, bool set)
{
	u64 p = start >> PAGE_SHIFT, e = (end + PAGE_SIZE - 1) >> PAGE_SHIFT;

	if (!set && !d->any && !d->full)
		return;
	if (d->full) {
		if (set)
			return;
		memset(d->bits, 0xff, sizeof(d->bits));
		d->full = false;
	}
	d->any = true;
	while (p < e) {
		if (p % 64 == 0 && p + 64 <= e) {
			d->bits[p / 64] = set ? ~0ull : 0;
			p += 64;
		} else {
			if (set)
				d->bits[p / 64] |= 1ull << (p % 64);
			else
				d->bits[p / 64] &= ~(1ull << (p % 64));
			p++;
		}
	}
}

void dm_all(struct dmap *d, bool set)
{
	if (set) {
		d->full = true;
		return;
	}
	if (d->any)
		memset(d->bits, 0, sizeof(d->bits));
	d->any = d->full = false;
}

bool kernel_va(u64 va)
{
	return kbase && va >= kbase;
}

/* Mark or clear [start, end) as possibly stale in top t (kernel part: in all). */
void dirty(int t, u64 start, u64 end, bool set)
{
	u64 split = kbase ? MAX(start, MIN(end, (u64)kbase)) : end;

	if (start < split && t >= 0) {
		if (!set && start == 0 && split >= user_end)
			dm_all(dmaps[t], false);
		else
			dm_range(dmaps[t], start, split, set);
	}
	if (split < end)
		dm_range(kdirty, split, end, set);
}

/*
 * A silent change to [start, end) in top t: stale wherever a shadow was
 * built from it. A top with no cached shadow has none, so its own part
 * needs nothing (the ABI: a table no shadow was built from needs no
 * call); the kernel's part is in the shared kernel leaf tables.
 */
void silent_change(int t, u64 start, u64 end)
{
	dirty(t >= 0 && cached(tops[t]) ? t : -1, start, end, true);
}

bool is_dirty(int t, gva_t va)
{
	return kernel_va(va) ? dm_test(kdirty, va) : dm_test(dmaps[t], va);
}

bool in_stack(u64 va)
{
	return stack_hi && va >= stack_lo && va < stack_hi;
}

bool stack_slot(u64 va)
{
	return stack_hi && (va >> DIR_SHIFT) >= (stack_lo >> DIR_SHIFT) &&
	       (va >> DIR_SHIFT) <= ((stack_hi - 1) >> DIR_SHIFT);
}

int model_top(gpa_t cr3)
{
	for (unsigned i = 0; i < ntops; i++)
		if (tops[i] == cr3)
			return (int)i;
	return -1;
}

struct shadow_top *cached(gpa_t cr3)
{
	for (unsigned i = 0; i < g->shadow.ntops; i++)
		if (g->shadow.tops[i].cr3 == cr3)
			return &g->shadow.tops[i];
	return NULL;
}

/* A top level thrown out of the cache comes back empty: nothing stale. */
void forget_evicted(void)
{
	for (unsigned i = 0; i < ntops; i++)
		if (!cached(tops[i]))
			dm_all(dmaps[i], false);
}

/* The gigabyte of a PAE top-level entry: all user, all kernel, or both. */
bool gib_all_user(unsigned i0)
{
	return !kbase || ((u64)i0 + 1) * GIB <= kbase;
}

bool gib_all_kernel(unsigned i0)
{
	return kbase && (u64)i0 * GIB >= kbase;
}

/* Where top cr3's directory entry for va is (GPA_NONE: PAE entry missing). */
gpa_t dir_entry_at(gpa_t cr3, gva_t va)
{
	pte_t p;

	if (!PAE)
		return cr3 + pt_index(F, 0, va) * 4;
	p = gget(cr3 + pt_index(F, 0, va) * 8);
	if (!(p & P))
		return GPA_NONE;
	return pte_addr(F, p) + pt_index(F, 1, va) * 8;
}

gpa_t leaf_entry_at(gpa_t cr3, gva_t va)
{
	gpa_t d = dir_entry_at(cr3, va);
	pte_t e;

	if (d == GPA_NONE || !((e = gget(d)) & P))
		return GPA_NONE;
	return pte_addr(F, e) + pt_index(F, LEAF, va) * F->entry_bytes;
}

/* ---- the guest, created and destroyed ------------------------------------ */

struct guest *sim_guest_new(u32 mem_bytes, u32 shadows, u32 kernel_base)
{
	char why[128];

	sim_machine_init();
	free_before = frame_count(FRAME_FREE);
	g = guest_create("sim", mem_bytes, shadows, why, sizeof(why));
	if (!g) {
		fprintf(stderr, "shadow_sim: guest_create: %s\n", why);
		abort();
	}
	guest_start(g);
	nr_pfns = g->nr_pfns;
	p2m = realloc(p2m, nr_pfns * sizeof(*p2m));
	if (!rev)
		rev = calloc(RAM_BYTES >> PAGE_SHIFT, sizeof(*rev));
	memset(rev, 0, (RAM_BYTES >> PAGE_SHIFT) * sizeof(*rev));
	for (pfn_t pfn = 0; pfn < nr_pfns; pfn++) {
		p2m[pfn] = guest_p2m(g, pfn);
		rev[p2m[pfn]] = pfn + 1;
	}
	pool = realloc(pool, nr_pfns * sizeof(*pool));
	in_pool = realloc(in_pool, nr_pfns);
	memset(in_pool, 0, nr_pfns);
	npool = 0;
	for (pfn_t pfn = nr_pfns; pfn-- > nr_pfns / 3;) {
		pool[npool++] = pfn;
		in_pool[pfn] = 1;
	}
	for (unsigned i = 0; i < MAX_TOPS; i++)
		if (!dmaps[i])
			dmaps[i] = calloc(1, sizeof(struct dmap));
	if (!kdirty)
		kdirty = calloc(1, sizeof(struct dmap));
	for (unsigned i = 0; i < MAX_TOPS; i++)
		dm_all(dmaps[i], false);
	dm_all(kdirty, false);
	ntops = 0;
	cur = -1;
	memset(nrecent, 0, sizeof(nrecent));
	kbase = kernel_base;
	user_end = kbase ? kbase : SW_BASE;
	memset(kpde, 0, sizeof(kpde));
	memset(kpmd, 0, sizeof(kpmd));
	stack_lo = stack_hi = 0;
	g->kernel_base = kernel_base;
	return g;
}

bool sim_guest_end(char *why, size_t len)
{
	bool ok = true;

	if (guest_alive(g))
		g->state = GUEST_DYING;
	guest_teardown(g);
	if (frame_count(FRAME_FREE) != free_before || frame_count(FRAME_SHADOW) ||
	    frame_count(FRAME_GUEST) || frame_info(sw_pt)->refs != 1) {
		snprintf(why, len, "after guest_teardown: %u frames free (%u before), %u shadow, %u guest, Switcher table %u references",
			 frame_count(FRAME_FREE), free_before, frame_count(FRAME_SHADOW),
			 frame_count(FRAME_GUEST), frame_info(sw_pt)->refs);
		ok = false;
	}
	g->state = GUEST_FREE;	/* the test reuses the slot; the hypervisor keeps it GONE */
	return ok;
}
