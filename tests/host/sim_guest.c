/*
 * The simulated guest kernel (see sim_internal.h).
 *
 * The guest this file plays keeps its page tables the way the ABI asks
 * (guest-abi/include/umbra/hypercall.h): every table lives in its own guest
 * memory, in the build's paging format; each process has its own top level
 * and its own tables below the kernel address; the kernel's tables are the
 * same in every top level (shared leaf tables, and with PAE shared
 * directories for every gigabyte that is all kernel). It changes an entry
 * either by announcing it (SET_PTE, SET_PMD, SET_PGD) or silently, by
 * writing memory only.
 */
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

/* ---- choosing addresses and values -------------------------------------- */

static u32 hot[16];		/* directory slots the sequences work in */
static unsigned nhot_user, nhot;

static void add_hot(u64 va, bool user)
{
	u32 slot_va;

	if (va >= SW_BASE || (user ? va >= user_end : va < user_end))
		return;
	slot_va = (u32)va & ~(DIR_SPAN - 1);
	for (unsigned i = 0; i < nhot; i++)
		if (hot[i] == slot_va)
			return;
	if (nhot < ARRAY_SIZE(hot))
		hot[nhot++] = slot_va;
}

void choose_hot(void)
{
	nhot = 0;
	add_hot(0, true);
	add_hot(DIR_SPAN, true);
	add_hot(0x08000000, true);
	add_hot(GIB - DIR_SPAN, true);
	add_hot(GIB, true);
	add_hot(user_end - DIR_SPAN, true);
	nhot_user = nhot;
	add_hot(kbase, false);
	add_hot((u64)kbase + DIR_SPAN, false);
	add_hot(3 * GIB - DIR_SPAN, false);
	add_hot(3 * GIB, false);
	add_hot(SW_BASE - DIR_SPAN, false);
}

u32 hot_slot(bool kernel)
{
	if (kernel && nhot > nhot_user)
		return hot[nhot_user + pick(nhot - nhot_user)];
	return hot[pick(nhot_user)];
}

/* An address in a hot slot, on one of the pages where interesting things happen. */
gva_t va_in(u32 slot)
{
	static const unsigned pages[] = { 0, 1, 2, 15, 16, 17, 31, 32, 100 };
	unsigned n = LEAF_ENTRIES, r = pick(14), page;

	if (r < ARRAY_SIZE(pages))
		page = pages[r];
	else if (r < ARRAY_SIZE(pages) + 2)
		page = n - 1 - pick(2);
	else
		page = pick(n);
	return slot + page * PAGE_SIZE + (coin(20) ? pick(PAGE_SIZE) : 0);
}

gva_t hot_va(bool kernel)
{
	return va_in(hot_slot(kernel));
}

bool want_kernel(void)
{
	return nhot > nhot_user && coin(35);
}

pfn_t any_frame(void)
{
	unsigned r = pick(10);

	if (r == 0)
		return nr_pfns - 1;
	if (r == 1)
		return pick(4);
	return pick(nr_pfns);
}

pte_t not_present(void)
{
	pte_t v = coin(50) ? 0 : next64();

	if (!PAE)
		v &= 0xffffffffull;
	return v & ~P;
}

pte_t leaf_value(gva_t va)
{
	bool stack = in_stack(va & PAGE_MASK);
	pte_t v;

	if (!stack && coin(20))
		return not_present();
	v = ((pte_t)any_frame() << PAGE_SHIFT) | P;
	v |= (stack || coin(55)) ? W : 0;
	v |= coin(50) ? U : 0;
	v |= coin(60) ? A : 0;
	v |= coin(50) ? D : 0;
	v |= coin(5) ? PTE_PWT : 0;
	v |= coin(5) ? PTE_PCD : 0;
	v |= coin(10) ? PTE_G : 0;
	v |= coin(10) ? (pte_t)pick(8) << 9 : 0;
	return v;
}

static pte_t table_flags(bool stack)
{
	pte_t v = P;

	v |= (stack || coin(85)) ? W : 0;
	v |= coin(75) ? U : 0;
	v |= coin(85) ? A : 0;
	v |= coin(3) ? PTE_PWT : 0;
	v |= coin(3) ? PTE_PCD : 0;
	v |= coin(10) ? (pte_t)pick(8) << 9 : 0;
	return v;
}

static pte_t pdpte_flags(void)
{
	return P | (coin(5) ? PTE_PWT : 0) | (coin(5) ? PTE_PCD : 0) | (coin(10) ? (pte_t)pick(8) << 9 : 0);
}

/* ---- the calls, checked ------------------------------------------------- */

/*
 * The value an announced entry must hold afterwards: the one announced,
 * except that re-pinning the kernel stack may have walked through it and
 * set A (and D on a leaf), as the CPU would.
 */
static bool stored(gpa_t at, pte_t v)
{
	pte_t e = gget(at);

	return e == v || ((v & P) && (e & ~(A | D)) == (v & ~(A | D)));
}

/*
 * Addresses mapped lately, per top level (kernel ones in one list): most
 * accesses go there, so that most faults are fixed rather than reflected.
 */
#define RECENT	16
static gva_t recent[MAX_TOPS + 1][RECENT];
unsigned nrecent[MAX_TOPS + 1];

void remember(int t, gva_t va)
{
	unsigned i = kernel_va(va) ? MAX_TOPS : (unsigned)t;

	recent[i][nrecent[i]++ % RECENT] = va;
}

bool recent_va(gva_t *va)
{
	unsigned i = cur >= 0 && (!nrecent[MAX_TOPS] || coin(60)) ? (unsigned)cur : MAX_TOPS;

	if (!nrecent[i])
		return false;
	*va = (recent[i][pick(MIN(nrecent[i], RECENT))] & PAGE_MASK) | pick(PAGE_SIZE);
	return true;
}

bool call_ok(s32 r, const char *what)
{
	if (r == 0 && alive())
		return true;
	if (starved())
		return false;
	fail(CK_CALLS, "%s returned %d%s%s", what, r, alive() ? "" : "; guest killed: ",
	     alive() ? "" : g->reason);
	return false;
}

bool announce_leaf(int t, gva_t va, gpa_t at, pte_t v)
{
	char what[96];

	if (coin(50))
		gset(at, v);	/* the guest writes the entry, then tells */
	sim_totals.set_calls++;
	snprintf(what, sizeof(what), "set_pte(0x%x, 0x%x, 0x%llx)", tops[t], va, (unsigned long long)v);
	if (!call_ok(shadow_set_entry(g, LEAF, tops[t], va, v), what))
		return false;
	if (!stored(at, v))
		fail(CK_CALLS, "%s left 0x%llx in the guest's table", what, (unsigned long long)gget(at));
	if (cur >= 0)
		dirty(t, va & PAGE_MASK, (va & PAGE_MASK) + PAGE_SIZE, false);
	if (v & P)
		remember(t, va);
	return true;
}

/* A directory entry of top t (SET_PGD with 2-level paging, SET_PMD with PAE). */
static bool announce_dir(int t, gva_t va, gpa_t at, pte_t v)
{
	char what[96];
	s32 r;

	if (coin(50))
		gset(at, v);
	sim_totals.set_calls++;
	if (PAE) {
		snprintf(what, sizeof(what), "set_pmd(0x%x, 0x%x, 0x%llx)", tops[t], va, (unsigned long long)v);
		r = shadow_set_entry(g, DIR, tops[t], va, v);
	} else {
		snprintf(what, sizeof(what), "set_pgd(0x%x, %u, 0x%llx)", tops[t], va >> DIR_SHIFT,
			 (unsigned long long)v);
		r = shadow_set_pgd(g, tops[t], va >> DIR_SHIFT, v);
	}
	if (!call_ok(r, what))
		return false;
	if (!stored(at, v))
		fail(CK_CALLS, "%s left 0x%llx in the guest's table", what, (unsigned long long)gget(at));
	if (cur >= 0) {
		u32 base = va & ~(DIR_SPAN - 1);

		dirty(t, base, (u64)base + DIR_SPAN, false);
	}
	return true;
}

static bool announce_pdpte(int t, unsigned i0, pte_t v)
{
	char what[96];

	if (coin(50))
		gset(tops[t] + i0 * 8, v);
	sim_totals.set_calls++;
	snprintf(what, sizeof(what), "set_pgd(0x%x, %u, 0x%llx)", tops[t], i0, (unsigned long long)v);
	if (!call_ok(shadow_set_pgd(g, tops[t], i0, v), what))
		return false;
	if (cur >= 0)
		dirty(t, i0 * GIB, (i0 + 1) * GIB, false);
	return true;
}

/* ---- top levels ----------------------------------------------------------- */

/* A new process: a fresh top level holding the kernel's entries. */
int top_new(void)
{
	gpa_t page, cr3;
	int t;

	if (ntops >= max_tops || (page = sim_table_alloc()) == GPA_NONE)
		return -1;
	cr3 = page + (PAE ? 32 * pick(PAGE_SIZE / 32) : 0);
	for (u32 slot = kbase >> DIR_SHIFT; kbase && slot < (SW_BASE >> DIR_SHIFT); slot++) {
		if (!PAE) {
			gset(cr3 + slot * 4, kpde[slot]);
			continue;
		}
		if (gib_all_kernel(slot >> 9)) {
			gset(cr3 + (slot >> 9) * 8, kpmd[slot >> 9] | P);
			continue;
		}
		if (!(gget(cr3 + (slot >> 9) * 8) & P)) {
			gpa_t pmd = sim_table_alloc();

			if (pmd == GPA_NONE) {
				for (unsigned i = 0; i < 4; i++)
					if (gget(cr3 + i * 8) & P && !gib_all_kernel(i))
						table_free(pte_addr(F, gget(cr3 + i * 8)));
				table_free(page);
				return -1;
			}
			gset(cr3 + (slot >> 9) * 8, pmd | pdpte_flags());
		}
		gset(dir_entry_at(cr3, slot << DIR_SHIFT), kpde[slot]);
	}
	t = (int)ntops++;
	tops[t] = cr3;
	dm_all(dmaps[t], false);
	/* A page that was a top level before may still be cached, stale. */
	if (cached(cr3))
		dm_all(dmaps[t], true);
	note("new top level 0x%x (model %d)", cr3, t);
	return t;
}

void switch_to(int t)
{
	char what[64];

	note("new_pgtable(0x%x)", tops[t]);
	sim_totals.switches++;
	snprintf(what, sizeof(what), "new_pgtable(0x%x)", tops[t]);
	if (!call_ok(shadow_new_pgtable(g, tops[t]), what))
		return;
	cur = t;
	forget_evicted();
}

static void free_dir_tables(gpa_t dir, u32 base)
{
	for (unsigned i = 0; i < F->level[DIR].entries; i++) {
		pte_t e = gget(dir + i * F->entry_bytes);
		u64 va = base + (u64)i * DIR_SPAN;

		if ((e & P) && !kernel_va(va))
			table_free(pte_addr(F, e));
	}
}

/*
 * A process exits: its user mappings are taken down, announced, and its
 * tables go back to the pool. The shadow may keep the top level cached.
 */
void op_retire(void)
{
	int t = (int)pick(ntops);
	gpa_t cr3 = tops[t];

	if (ntops < 2 || t == cur)
		return;
	note("retire top level 0x%x", cr3);
	if (PAE) {
		for (unsigned i0 = 0; i0 < 4; i0++) {
			pte_t p = gget(cr3 + i0 * 8);
			gpa_t pmd = pte_addr(F, p);

			if (!(p & P) || gib_all_kernel(i0))
				continue;
			if (gib_all_user(i0)) {
				if (!announce_pdpte(t, i0, 0))
					return;
				free_dir_tables(pmd, i0 << 30);
				table_free(pmd);
				continue;
			}
			for (u32 va = i0 << 30; va < kbase; va += DIR_SPAN) {
				gpa_t at = pmd + pt_index(F, 1, va) * 8;
				pte_t e = gget(at);

				if (!(e & P))
					continue;
				if (!announce_dir(t, va, at, 0))
					return;
				table_free(pte_addr(F, e));
			}
			table_free(pmd);
		}
	} else {
		for (u32 slot = 0; slot < (user_end >> DIR_SHIFT); slot++) {
			pte_t e = gget(cr3 + slot * 4);

			if (!(e & P))
				continue;
			if (!announce_dir(t, slot << DIR_SHIFT, cr3 + slot * 4, 0))
				return;
			table_free(pte_addr(F, e));
		}
	}
	table_free(cr3 & PAGE_MASK);
	nrecent[t] = 0;
	ntops--;
	if ((unsigned)t != ntops) {
		struct dmap *d = dmaps[t];

		tops[t] = tops[ntops];
		memcpy(recent[t], recent[ntops], sizeof(recent[t]));
		nrecent[t] = nrecent[ntops];
		dmaps[t] = dmaps[ntops];
		dmaps[ntops] = d;
		if (cur == (int)ntops)
			cur = t;
	}
}

void op_switch(void)
{
	int t = -1;

	if (ntops < 2 || coin(25))
		t = top_new();
	if (t < 0)
		t = (int)pick(ntops);
	if (coin(60))
		switch_to(t);
	else
		switch_call(t, kbase && coin(60));
}

/* ---- directory entries -------------------------------------------------- */

/* The kernel's directory entry for slot changes, in every top level at once. */
bool kernel_dir_set(u32 slot, gva_t va, pte_t v, bool announce)
{
	bool shared = PAE && gib_all_kernel(va >> 30);

	note("kernel directory entry for 0x%x (named by 0x%x) := 0x%llx (%s)", slot << DIR_SHIFT, va,
	     (unsigned long long)v, announce ? "announced" : "silent");
	kpde[slot] = v;
	if (shared) {
		gpa_t at = kpmd[va >> 30] + pt_index(F, 1, va) * 8;

		if (!announce) {
			gset(at, v);
		} else if (!announce_dir((int)pick(ntops), va, at, v)) {
			return false;
		}
	} else {
		bool told = false;

		for (unsigned i = 0; i < ntops; i++)
			gset(dir_entry_at(tops[i], va), v);
		for (unsigned i = 0; announce && i < ntops; i++) {
			if (!coin(70) && (told || i + 1 < ntops))
				continue;
			if (!announce_dir((int)i, va, dir_entry_at(tops[i], va), v))
				return false;
			told = true;
		}
	}
	if (!announce) {
		sim_totals.silent++;
		if (cur >= 0)
			dirty(-1, slot << DIR_SHIFT, ((u64)slot << DIR_SHIFT) + DIR_SPAN, true);
	}
	return true;
}

/*
 * A directory entry of top t (or the kernel's): link a new empty table,
 * unlink, change its flags, or move the table's contents to a new page.
 */
void op_dir(bool kernel, int t, gva_t va)
{
	u32 slot = va >> DIR_SHIFT, base = slot << DIR_SHIFT;
	bool stack = stack_slot(base), announce = cur < 0 || coin(70);
	gpa_t at = GPA_NONE, fresh = GPA_NONE, old_table = GPA_NONE;
	pte_t old, v;
	unsigned r = pick(100);

	if (kernel) {
		old = kpde[slot];
	} else {
		if (PAE && !(gget(tops[t] + (va >> 30) * 8) & P)) {
			gpa_t pmd = sim_table_alloc();

			if (pmd == GPA_NONE)
				return;
			v = pmd | pdpte_flags();
			note("top 0x%x: link a directory for GiB %u (%s)", tops[t], va >> 30,
			     announce ? "announced" : "silent");
			if (announce) {
				announce_pdpte(t, va >> 30, v);
			} else {
				gset(tops[t] + (va >> 30) * 8, v);
				sim_totals.silent++;
				silent_change(t, (va >> 30) * GIB, ((va >> 30) + 1) * GIB);
			}
			return;
		}
		old = gget(at = dir_entry_at(tops[t], va));
	}
	if (!(old & P) && stack)
		return;
	if (!(old & P) || (!stack && r < 12)) {			/* a new empty table */
		if ((fresh = sim_table_alloc()) == GPA_NONE)
			return;
		v = fresh | table_flags(stack);
	} else if (!stack && r < 24) {				/* unlink */
		v = not_present();
	} else if (r < 70) {					/* new flags */
		v = pte_addr(F, old) | table_flags(stack);
	} else {						/* move */
		if ((fresh = sim_table_alloc()) == GPA_NONE)
			return;
		memcpy(gptr(fresh), gptr(pte_addr(F, old)), PAGE_SIZE);
		v = fresh | (old & ~addr_mask());
	}
	if ((old & P) && fresh != GPA_NONE)
		old_table = pte_addr(F, old);
	if ((old & P) && !(v & P))
		old_table = pte_addr(F, old);
	if (kernel) {
		if (!kernel_dir_set(slot, va, v, announce))
			return;
	} else {
		note("top 0x%x: directory entry for 0x%x := 0x%llx (%s)", tops[t], va,
		     (unsigned long long)v, announce ? "announced" : "silent");
		if (announce) {
			if (!announce_dir(t, va, at, v))
				return;
		} else {
			gset(at, v);
			sim_totals.silent++;
			if (cur >= 0)
				silent_change(t, base, (u64)base + DIR_SPAN);
		}
	}
	if (old_table != GPA_NONE)
		table_free(old_table);
}

/* PAE: a user gigabyte's top-level entry: unlink it, or move its directory. */
void op_pdpte(int t, unsigned i0)
{
	gpa_t at = tops[t] + i0 * 8, pmd;
	pte_t p = gget(at), v;
	bool announce = coin(70), unlink = coin(50);

	if (!(p & P) || !gib_all_user(i0) || stack_slot(i0 * GIB))
		return;
	pmd = pte_addr(F, p);
	if (unlink) {
		v = not_present();
	} else {
		gpa_t fresh = sim_table_alloc();

		if (fresh == GPA_NONE)
			return;
		memcpy(gptr(fresh), gptr(pmd), PAGE_SIZE);
		v = fresh | pdpte_flags();
	}
	note("top 0x%x: top-level entry %u := 0x%llx (%s)", tops[t], i0, (unsigned long long)v,
	     announce ? "announced" : "silent");
	if (announce) {
		if (!announce_pdpte(t, i0, v))
			return;
	} else {
		gset(at, v);
		sim_totals.silent++;
		silent_change(t, i0 * GIB, (i0 + 1) * GIB);
	}
	if (unlink)
		free_dir_tables(pmd, i0 << 30);
	table_free(pmd);
}

/* Make sure top t has a leaf table for va (announced or not). */
gpa_t need_leaf(int t, gva_t va, bool kernel)
{
	for (int tries = 0; tries < 3; tries++) {
		gpa_t at = leaf_entry_at(tops[t], va);

		if (at != GPA_NONE || !alive())
			return at;
		op_dir(kernel, t, va);
	}
	return GPA_NONE;
}

/* ---- leaf entries ------------------------------------------------------- */

void op_leaf(bool kernel, bool announce)
{
	gva_t va = hot_va(kernel);
	int t = kernel || cur < 0 ? (int)pick(ntops) : coin(70) ? cur : (int)pick(ntops);
	gpa_t at = leaf_entry_at(tops[t], va);
	pte_t v;

	if (at == GPA_NONE && !kernel && coin(30)) {
		/* No table for it: SET_PTE refuses, harmlessly. */
		pte_t before = PAE ? gget(tops[t] + (va >> 30) * 8) : gget(tops[t] + (va >> DIR_SHIFT) * 4);
		s32 r;

		v = leaf_value(va);
		note("set_pte(0x%x, 0x%x, 0x%llx) without a table", tops[t], va, (unsigned long long)v);
		r = shadow_set_entry(g, LEAF, tops[t], va, v);
		if (r != UMBRA_EINVAL || !alive())
			fail(CK_CALLS, "set_pte(0x%x, 0x%x, 0x%llx) with no leaf table returned %d%s%s",
			     tops[t], va, (unsigned long long)v, r, alive() ? "" : ", killed: ", g->reason);
		if (before != (PAE ? gget(tops[t] + (va >> 30) * 8) : gget(tops[t] + (va >> DIR_SHIFT) * 4)))
			fail(CK_CALLS, "set_pte with no leaf table changed the guest's tables");
		return;
	}
	if (at == GPA_NONE && (at = need_leaf(t, va, kernel)) == GPA_NONE)
		return;
	v = leaf_value(va);
	note("top 0x%x: entry for 0x%x := 0x%llx (%s)", tops[t], va, (unsigned long long)v,
	     announce ? "announced" : "silent");
	if (announce) {
		announce_leaf(t, va, at, v);
	} else {
		if (v & P)
			remember(t, va);
		gset(at, v);
		sim_totals.silent++;
		if (cur >= 0)
			silent_change(t, va & PAGE_MASK, (va & PAGE_MASK) + PAGE_SIZE);
	}
}
