/*
 * The guest's accesses, translations and flushes (see sim_internal.h), each
 * checked against the guest's own tables as the CPU would read them.
 */
#include <stdio.h>

#include "sim_internal.h"

/* ---- accesses, translations, flushes ------------------------------------ */

/*
 * One access by the guest, as the CPU makes it: through the shadow; on a
 * fault, shadow_fault() decides. FIXED must make the very next try succeed.
 */
static void access(gva_t va, bool write, bool user)
{
	bool linear = g->shadow.linear;

	sim_totals.accesses++;
	note("%s %s access to 0x%x", user ? "user" : "kernel", write ? "write" : "read", va);
	for (int tries = 0; tries < 2; tries++) {
		pte_t s = sim_shadow_entry(va);
		u32 err = (s & P ? 1u : 0u) | (write ? 2u : 0u) | (user ? 4u : 0u), gerr = 0xdead;
		bool full, allow;
		struct walk w;
		enum fault_result r;

		if ((s & P) && (!write || (s & W)) && (!user || (s & U)))
			return;
		if (tries) {
			fail(CK_FAULT, "shadow_fault fixed a %s %s access to 0x%x but the shadow entry 0x%llx still forbids it",
			     user ? "user" : "kernel", write ? "write" : "read", va, (unsigned long long)s);
			return;
		}
		r = shadow_fault(g, va, err, &gerr);
		if (r == FAULT_KILLED || !alive()) {
			if (starved())
				return;
			fail(CK_CALLS, "a fault at 0x%x (error %u) killed the guest: %s", va, err, g->reason);
			return;
		}
		if (linear) {
			full = allow = va >= PAGE_SIZE && va < g->mem_bytes;
		} else {
			full = walk(tops[cur], va, &w) == (int)LEVELS;
			allow = full && (!write || w.w) && (!user || w.u);
		}
		if (r == FAULT_GUEST) {
			u32 want = linear ? err : (err & ~1u) | (full ? 1u : 0u);

			sim_totals.reflected++;
			sim_totals.not_present += !full;
			if (allow)
				fail(CK_FAULT, "fault at 0x%x (error %u) reflected although the guest's tables allow it",
				     va, err);
			else if (gerr != want)
				fail(CK_FAULT, "fault at 0x%x (error %u) reflected with error %u, expected %u",
				     va, err, gerr, want);
			return;
		}
		sim_totals.fixed++;
		if (!allow) {
			fail(CK_FAULT, "fault at 0x%x (error %u) fixed although the guest's tables forbid it",
			     va, err);
			return;
		}
		if (!linear) {
			pte_t leaf = gget(w.at[LEAF]);

			if (!(leaf & A) || (write && !(leaf & D)))
				fail(CK_AD, "after a fixed %s fault at 0x%x the guest's entry is 0x%llx",
				     write ? "write" : "read", va, (unsigned long long)leaf);
			for (unsigned l = PAE; l < LEAF; l++)
				if (!(gget(w.at[l]) & A))
					fail(CK_AD, "after a fixed fault at 0x%x the guest's level %u entry 0x%llx is not accessed",
					     va, l, (unsigned long long)gget(w.at[l]));
			dirty(cur, va & PAGE_MASK, (va & PAGE_MASK) + PAGE_SIZE, false);
		}
	}
}

static gva_t some_va(void)
{
	unsigned r = pick(10);
	gva_t va;

	if (r < 6 && recent_va(&va))
		return va;
	if (r < 8)
		return hot_va(want_kernel());
	if (r < 9)
		return next32() % SW_BASE;
	return pick(g->mem_bytes + 2 * PAGE_SIZE);
}

void op_access(void)
{
	access(some_va(), coin(40), coin(35));
}

void op_translate(void)
{
	gva_t va = some_va();
	bool write = coin(50), got, want, linear = g->shadow.linear;
	gpa_t gpa = 0xdeadbeef;
	struct walk w;
	int r = 0;

	sim_totals.translations++;
	note("translate 0x%x for %s", va, write ? "writing" : "reading");
	got = shadow_translate(g, va, write, &gpa);
	if (!alive()) {
		fail(CK_CALLS, "translating 0x%x killed the guest: %s", va, g->reason);
		return;
	}
	if (linear) {
		want = va >= PAGE_SIZE && va < g->mem_bytes;
		if (got != want || (got && gpa != va))
			fail(CK_FAULT, "linear translation of 0x%x: %d 0x%x", va, got, gpa);
		return;
	}
	r = walk(tops[cur], va, &w);
	want = r == (int)LEVELS && (!write || w.w);
	if (got != want) {
		fail(CK_FAULT, "translate(0x%x, %s) returned %d; the guest's tables say %d",
		     va, write ? "write" : "read", got, want);
		return;
	}
	if (!got)
		return;
	if (gpa != (pte_addr(F, w.e[LEAF]) | (va & ~PAGE_MASK)))
		fail(CK_FAULT, "translate(0x%x) gave 0x%x, the guest's entry is 0x%llx",
		     va, gpa, (unsigned long long)w.e[LEAF]);
	for (unsigned l = PAE; l < LEVELS; l++) {
		pte_t e = gget(w.at[l]);

		if (!(e & A) || (l == LEAF && write && !(e & D)))
			fail(CK_AD, "after translate(0x%x, %s) the guest's level %u entry is 0x%llx",
			     va, write ? "write" : "read", l, (unsigned long long)e);
	}
}

void flush(u32 kind, gva_t va)
{
	char what[64];

	sim_totals.flushes++;
	snprintf(what, sizeof(what), "flush(%u, 0x%x)", kind, va);
	note("%s", what);
	if (!call_ok(shadow_flush(g, kind, va), what))
		return;
	if (kind == UMBRA_FLUSH_ONE) {
		dirty(cur, va & PAGE_MASK, (va & PAGE_MASK) + PAGE_SIZE, false);
	} else if (kind == UMBRA_FLUSH_USER) {
		dm_all(dmaps[cur], false);
	} else {
		for (unsigned i = 0; i < ntops; i++)
			dm_all(dmaps[i], false);
		dm_all(kdirty, false);
	}
}

void op_flush(void)
{
	unsigned r = pick(100);

	if (r < 60)
		flush(UMBRA_FLUSH_ONE, hot_va(want_kernel()));
	else if (r < 85)
		flush(UMBRA_FLUSH_USER, 0);
	else
		flush(UMBRA_FLUSH_ALL, 0);
}

/* A silent change to the current process's mapping, then its flush. */
void op_edit_flush(void)
{
	bool kernel = want_kernel();
	gva_t va = hot_va(kernel);
	gpa_t at = leaf_entry_at(tops[cur], va);
	pte_t v;

	if (at == GPA_NONE)
		return;
	v = leaf_value(va);
	note("top 0x%x: entry for 0x%x := 0x%llx (silent, then flushed)", tops[cur], va,
	     (unsigned long long)v);
	gset(at, v);
	dirty(cur, va & PAGE_MASK, (va & PAGE_MASK) + PAGE_SIZE, true);
	flush(UMBRA_FLUSH_ONE, va);
}
