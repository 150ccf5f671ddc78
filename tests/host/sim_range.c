/*
 * Runs of leaf entries rewritten in place and announced once, fork's
 * write-protect done by the hypervisor, and the process switch that sets
 * the kernel stack in the same call (see sim_internal.h): UPDATE_RANGE,
 * PROTECT_RANGE and SWITCH, in valid and hostile use, and MMU_UPDATE, the
 * same rewrites named by where the entries live.
 *
 * What UPDATE_RANGE reaches, as the ABI says: in every span of the range
 * whose leaf table the named top level still links, the shadow of that top
 * (the shared kernel leaf tables for kernel addresses) agrees with the
 * guest's entries afterwards, and an entry with P and A is shadowed at
 * once. Spans whose directory entry is gone stay as stale as before; so do
 * other top levels, but in this guest no two of them share a user leaf
 * table (test_shadow.c has the directed test for that).
 */
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

/* ---- UPDATE_RANGE ---------------------------------------------------------- */

/* What a range's entries become: one of these, or each entry any of them. */
enum { RW_REMAP, RW_PROTECT, RW_CLEAR, RW_ACCESSED, RW_KEEP, RW_MIXED };

static const char *const rw_names[] = {
	"remapped", "write-protected", "cleared", "marked accessed or not", "left as they were",
	"rewritten each its own way",
};

/* The entries written, to see afterwards that the call left them alone. */
static gpa_t wrote_at[UMBRA_RANGE_MAX];
static pte_t wrote[UMBRA_RANGE_MAX];

/* Mostly short runs on the hot pages, some across the end of a leaf table, a few long ones. */
static void choose_range(bool kernel, gva_t *va, u32 *pages)
{
	u64 start = hot_va(kernel) & PAGE_MASK, n;
	unsigned r = pick(100);

	if (r < 30)
		start = (u64)hot_slot(kernel) + DIR_SPAN - (1 + pick(8)) * PAGE_SIZE;
	r = pick(100);
	if (r < 55)
		n = 1 + pick(8);
	else if (r < 85)
		n = 1 + pick(LEAF_ENTRIES + 16);
	else if (r < 97)
		n = 1 + pick(3 * LEAF_ENTRIES);
	else
		n = 1 + pick(UMBRA_RANGE_MAX);
	if (start + n * PAGE_SIZE > SW_BASE)
		n = (SW_BASE - start) >> PAGE_SHIFT;
	*va = (gva_t)start;
	*pages = (u32)n;
}

/* What a kernel rewriting its tables for fork, munmap, mmap or exit writes; the stack stays mapped. */
static pte_t rewritten(unsigned mode, gva_t va, pte_t old)
{
	if (mode == RW_MIXED)
		mode = pick(RW_MIXED);
	if (in_stack(va) && mode != RW_REMAP && mode != RW_ACCESSED)
		return old;
	switch (mode) {
	case RW_REMAP:
		return leaf_value(va);
	case RW_PROTECT:
		return (old & P) ? (old & ~W) | (coin(50) ? (pte_t)pick(8) << 9 : 0) : old;
	case RW_CLEAR:
		return coin(80) ? 0 : not_present();
	case RW_ACCESSED:
		if (!(old & P))
			return old;
		return coin(25) ? old & ~(A | D) : old | A | (coin(50) ? D : 0);
	default:
		return old;
	}
}

/*
 * Right after the call, in a span the named top still links: where the
 * shadow has a leaf table, an entry with P and A is shadowed exactly as the
 * ABI says (writable only if dirty), any other is not shadowed. The stack's
 * pages are left out: pinning may have filled them since.
 */
static void check_resynced(int t, u64 lo, u64 hi)
{
	struct shadow_top *st = kernel_va(lo) ? g->shadow.cur : cached(tops[t]);

	if (!st || !shadow_has_leaf(st, (gva_t)lo))
		return;
	for (u64 a = lo; a < hi; a += PAGE_SIZE) {
		pte_t s = shadow_entry_of(st, (gva_t)a), leaf, want;
		struct walk w;

		if (in_stack(a))
			continue;
		if (walk(tops[t], (gva_t)a, &w) != (int)LEVELS || !((leaf = w.e[LEAF]) & A)) {
			if (s)
				fail(CK_CALLS, "after update_range the shadow of 0x%x still maps 0x%x (entry 0x%llx); the guest's entry 0x%llx is not present and accessed",
				     tops[t], (gva_t)a, (unsigned long long)s,
				     (unsigned long long)gget(leaf_entry_at(tops[t], (gva_t)a)));
			continue;
		}
		want = P | A | D | (leaf & (PTE_PWT | PTE_PCD)) | (w.u ? U : 0) | (w.w && (leaf & D) ? W : 0);
		sim_totals.range_shadowed++;
		if (!(s & P) || rev[pte_mfn(F, s)] - 1 != pte_addr(F, leaf) >> PAGE_SHIFT ||
		    (s & ~addr_mask()) != want)
			fail(CK_CALLS, "after update_range the shadow of 0x%x has entry 0x%llx for 0x%x; the guest's entry 0x%llx wants flags 0x%llx at once",
			     tops[t], (unsigned long long)s, (gva_t)a, (unsigned long long)leaf,
			     (unsigned long long)want);
	}
}

/*
 * The new values for the leaf entries of [va, end) in top t, in wrote_at[]
 * and wrote[]; stored at once if `store` (the guest rewrites in place),
 * else left for the call to store. Returns how many.
 */
static unsigned plan_run(int t, unsigned mode, gva_t va, u64 end, bool store)
{
	unsigned n = 0;

	for (u64 a = va; a < end;) {
		gpa_t at = leaf_entry_at(tops[t], (gva_t)a);
		pte_t v;

		if (at == GPA_NONE) {
			a = ALIGN_DOWN(a, DIR_SPAN) + DIR_SPAN;
			continue;
		}
		v = rewritten(mode, (gva_t)a, gget(at));
		if (store)
			gset(at, v);
		wrote_at[n] = at;
		wrote[n++] = v;
		if (v & P)
			remember(t, (gva_t)a);
		a += PAGE_SIZE;
	}
	return n;
}

/* After the call the guest's entries hold what was planned (pinning the stack may add A and D). */
static void check_stored(const char *what, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		pte_t e = gget(wrote_at[i]);

		if (e != wrote[i] && (!(wrote[i] & P) || (e & ~(A | D)) != (wrote[i] & ~(A | D)))) {
			fail(CK_CALLS, "%s left the guest's entry at 0x%x 0x%llx, not 0x%llx", what,
			     wrote_at[i], (unsigned long long)e, (unsigned long long)wrote[i]);
			break;
		}
	}
}

/*
 * The guest rewrites the leaf entries of a run of pages in top t (the
 * current one mostly, the kernel's for all), then makes one call.
 */
void op_update_range(void)
{
	bool kernel = want_kernel();
	int t = cur < 0 || kernel ? (int)pick(ntops) : coin(70) ? cur : (int)pick(ntops);
	unsigned mode = pick(RW_MIXED + 1), n = 0;
	char what[96];
	gva_t va;
	u32 pages;
	u64 end;

	choose_range(kernel, &va, &pages);
	end = (u64)va + (u64)pages * PAGE_SIZE;
	n = plan_run(t, mode, va, end, true);
	snprintf(what, sizeof(what), "update_range(0x%x, 0x%x, %u)", tops[t], va, pages);
	note("top 0x%x: %u leaf entries of [0x%x, 0x%llx) %s, then %s", tops[t], n, va,
	     (unsigned long long)end, rw_names[mode], what);
	sim_totals.ranges++;
	if (!call_ok(shadow_update_range(g, tops[t], va, pages), what))
		return;
	check_stored(what, n);
	if (cur < 0)
		return;		/* the linear mapping: nothing read, nothing to model */
	for (u64 a = va; a < end; a = ALIGN_DOWN(a, DIR_SPAN) + DIR_SPAN) {
		u64 stop = MIN(end, ALIGN_DOWN(a, DIR_SPAN) + DIR_SPAN);
		struct walk w;

		if (walk(tops[t], (gva_t)a, &w) < (int)LEAF)
			continue;	/* unlinked: what was stale stays stale until a flush */
		check_resynced(t, a, stop);
		dirty(t, a, stop, false);
	}
}

/* ---- MMU_UPDATE ------------------------------------------------------------ */

static struct umbra_mmu_update list[UMBRA_MMU_UPDATE_MAX];
static bool was_stale[UMBRA_MMU_UPDATE_MAX];

/*
 * The same rewrites as UPDATE_RANGE, but named by where the entries live
 * and written by the hypervisor: afterwards the guest's entries hold the
 * values asked, and where the named top still links the leaf table its
 * shadow agrees at once (MMU_UPDATE reaches every shadow of the table; a
 * table with two is flushed whole, which the checks see as no shadow).
 */
void op_mmu_update(void)
{
	/*
	 * User leaf tables only: the kernel region's shared shadow is built from
	 * whichever top's leaf table a fault walked, which may be another frame
	 * holding the same entries, and MMU_UPDATE reaches only the shadows built
	 * from the table named (the ABI says so).
	 */
	bool kernel = false;
	int t = cur < 0 || kernel ? (int)pick(ntops) : coin(70) ? cur : (int)pick(ntops);
	unsigned mode = pick(RW_MIXED + 1), n = 0;
	char what[96];
	gva_t va;
	u32 pages;
	u64 end;

	choose_range(kernel, &va, &pages);
	pages = MIN(pages, UMBRA_MMU_UPDATE_MAX);
	end = (u64)va + (u64)pages * PAGE_SIZE;
	if (kernel_va(end - 1))
		end = MAX((u64)va, (u64)ALIGN_DOWN(end - 1, DIR_SPAN));
	while (end > va && kernel_va(end - 1))
		end -= DIR_SPAN;
	if (end <= va)
		return;
	for (u64 a = va; a < end; a += PAGE_SIZE)
		was_stale[(a - va) >> PAGE_SHIFT] = is_dirty(t, (gva_t)a);
	n = plan_run(t, mode, va, end, false);
	if (!n)
		return;
	for (unsigned i = 0; i < n; i++)
		list[i] = (struct umbra_mmu_update){ wrote_at[i], wrote[i] };
	snprintf(what, sizeof(what), "mmu_update(%u entries of 0x%x from 0x%x)", n, tops[t], va);
	note("top 0x%x: %u leaf entries of [0x%x, 0x%llx) %s through %s", tops[t], n, va,
	     (unsigned long long)end, rw_names[mode], what);
	sim_totals.ranges++;
	if (!call_ok(shadow_mmu_update(g, list, n), what))
		return;
	check_stored(what, n);
	if (cur < 0)
		return;		/* the linear mapping: nothing shadowed from these tables */
	/*
	 * A page the model holds stale (a silent change, of a directory entry
	 * say) may be shadowed from another table than the one named: it stays
	 * stale. The others must agree at once.
	 */
	for (u64 a = va; a < end; a += PAGE_SIZE) {
		struct walk w;

		if (!was_stale[(a - va) >> PAGE_SHIFT] && walk(tops[t], (gva_t)a, &w) >= (int)LEAF)
			check_resynced(t, a, a + PAGE_SIZE);
	}
}

/* ---- SWITCH ------------------------------------------------------------------ */

/* Map [lo, hi) writable in the kernel's tables, announced, as a kernel does before declaring a stack. */
bool map_stack(u32 lo, u32 hi)
{
	for (u32 va = lo; va < hi && alive(); va += PAGE_SIZE) {
		gpa_t at = need_leaf(0, va, true);

		if (at == GPA_NONE)
			return false;
		if (!(kpde[va >> DIR_SHIFT] & W) &&
		    !kernel_dir_set(va >> DIR_SHIFT, va, kpde[va >> DIR_SHIFT] | W, true))
			return false;
		if (!announce_leaf(0, va, at, ((pte_t)any_frame() << PAGE_SHIFT) | P | W |
				   (coin(50) ? A : 0) | (coin(50) ? D : 0)))
			return false;
	}
	return alive();
}

/*
 * What SET_STACK records (hypervisor/guest_desc.c, not built here): the
 * switch that follows must find the stack in its table, or kill.
 */
static void declare_stack(u32 esp, u32 pages)
{
	g->ss1 = UMBRA_KERNEL_DS;
	g->esp1 = esp;
	g->stack_pages = pages;
}

/* A stack of 1 or 2 pages in a kernel slot, its top sometimes not page aligned. */
static void choose_stack(u32 *esp, u32 *pages, u32 *lo, u32 *hi)
{
	u32 slot = hot_slot(true);

	*pages = 1 + pick(2);
	*hi = slot + (*pages + 1 + pick(LEAF_ENTRIES - *pages)) * PAGE_SIZE;
	*esp = *hi - (coin(30) ? 4 * (1 + pick(PAGE_SIZE / 4 - 1)) : 0);
	*lo = ALIGN_DOWN(*esp - *pages * PAGE_SIZE, PAGE_SIZE);
}

/*
 * SWITCH: NEW_PGTABLE and, with a new stack, SET_STACK in one call; the
 * stack is mapped beforehand in the kernel's tables, so in every top level.
 */
void switch_call(int t, bool new_stack)
{
	u32 esp = 0, pages = 0, lo = 0, hi = 0;
	char what[80];

	if (new_stack) {
		choose_stack(&esp, &pages, &lo, &hi);
		if (!map_stack(lo, hi))
			return;
	}
	snprintf(what, sizeof(what), "switch(0x%x, 0x%x, %u)", tops[t], esp, pages);
	note("%s", what);
	sim_totals.switches++;
	if (esp) {
		declare_stack(esp, pages);
		stack_lo = lo;
		stack_hi = hi;
	}
	if (!call_ok(shadow_new_pgtable(g, tops[t]), what))
		return;
	cur = t;
	forget_evicted();
}

/*
 * ---- hostile ranges and switches ----------------------------------------------
 *
 * Each returns -1 if it could not set itself up (the guest may have run
 * out of shadow frames on the way), else whether the call reported
 * success; `what` says what was done, `want` what the reason must say.
 */

static pte_t bad_entry(bool accessed)
{
	pfn_t max = PAE ? 0xffffffffu : 0xfffffu;
	pte_t frame = (pte_t)any_frame() << PAGE_SHIFT, bits;

	if (coin(40))
		return ((pte_t)(nr_pfns + pick(max - nr_pfns + 1)) << PAGE_SHIFT) | P | (accessed ? A : 0);
	bits = PAE ? (coin(50) ? PTE_NX : 1ull << (52 + pick(11))) : PTE_PS;
	return frame | P | W | bits | (accessed ? A | D : 0);
}

/*
 * A bad entry with P and A in a range whose leaf table is shadowed: the
 * call kills, naming it. Before it, a bad entry with P but without A in
 * the same table is announced alone: not read, so no kill, and no shadow.
 */
int hostile_range_entry(gva_t va, char *what, size_t len, char *want, size_t wlen)
{
	gva_t q = va ^ PAGE_SIZE;
	gpa_t at = leaf_entry_at(tops[cur], va);
	u64 start, end;
	u32 gerr;
	pte_t v;

	if (shadow_fault(g, va, 0, &gerr) != FAULT_FIXED || !alive())
		return -1;
	if (!in_stack(q)) {
		gpa_t qat = leaf_entry_at(tops[cur], q);

		v = bad_entry(false);
		gset(qat, v);
		note("hostile: entry for 0x%x := 0x%llx (P without A), then update_range of it", q,
		     (unsigned long long)v);
		if (shadow_update_range(g, tops[cur], q, 1) != 0 || !alive())
			fail(CK_HOSTILE, "update_range over a bad entry 0x%llx without A at 0x%x failed: %s",
			     (unsigned long long)v, q, alive() ? "returned an error" : g->reason);
		else if (shadow_entry_of(g->shadow.cur, q))
			fail(CK_HOSTILE, "update_range left a shadow entry 0x%llx for 0x%x, whose entry 0x%llx has no A",
			     (unsigned long long)shadow_entry_of(g->shadow.cur, q), q, (unsigned long long)v);
		if (!alive())
			return -1;
	}
	v = bad_entry(true);
	gset(at, v);
	start = MIN(va, q) >= 4 * PAGE_SIZE ? MIN(va, q) - pick(4) * PAGE_SIZE : 0;
	end = MIN((u64)SW_BASE, (u64)va + (1 + pick(8)) * PAGE_SIZE);
	snprintf(what, len, "entry for 0x%x := 0x%llx, then update_range(0x%x, 0x%llx, %llu)", va,
		 (unsigned long long)v, tops[cur], (unsigned long long)start,
		 (unsigned long long)((end - start) >> PAGE_SHIFT));
	snprintf(want, wlen, "update_range: entry 0x%llx for 0x%x", (unsigned long long)v, va);
	return shadow_update_range(g, tops[cur], (gva_t)start, (u32)((end - start) >> PAGE_SHIFT)) !=
	       UMBRA_EINVAL;
}

/* Arguments the calls refuse: unaligned, empty, too long, into the Switcher, a bad top. */
int hostile_range_args(gva_t va, char *what, size_t len, char *want, size_t wlen)
{
	const char *who = coin(50) ? "update_range" : "protect_range";
	gpa_t cr3 = tops[cur];
	u32 pages = 1 + pick(8), k = 1 + pick(8);

	switch (pick(6)) {
	case 0:
		va |= 1 + pick(PAGE_SIZE - 1);
		break;
	case 1:
		pages = 0;
		break;
	case 2:
		pages = coin(50) ? UMBRA_RANGE_MAX + 1 + pick(64) : 0x80000000u | next32();
		break;
	case 3:
		va = SW_BASE - k * PAGE_SIZE;
		pages = k + 1 + pick(8);
		break;
	case 4:
		va = SW_BASE + (pick(-SW_BASE >> PAGE_SHIFT) << PAGE_SHIFT);
		pages = 1;
		break;
	default:
		cr3 = coin(50) ? g->mem_bytes + PAGE_SIZE * pick(16) : cr3 + (PAE ? 8 : 0x800);
		break;
	}
	snprintf(what, len, "%s(0x%x, 0x%x, %u)", who, cr3, va, pages);
	snprintf(want, wlen, "%s:", who);
	if (who[0] == 'p')
		return shadow_protect_range(g, cr3, va, pages, 0) != UMBRA_EINVAL;
	return shadow_update_range(g, cr3, va, pages) != UMBRA_EINVAL;
}

/* The stack write-protected or unmapped in place, announced by a range naming any top. */
int hostile_range_stack(char *what, size_t len, char *want, size_t wlen)
{
	u32 p = stack_lo + pick((stack_hi - stack_lo) >> PAGE_SHIFT) * PAGE_SIZE;
	gpa_t at = leaf_entry_at(tops[cur], p);
	pte_t v = coin(50) ? not_present() : gget(at) & ~W;
	int t = (int)pick(ntops);
	u64 start = p - pick(3) * PAGE_SIZE, end = MIN((u64)SW_BASE, (u64)p + (1 + pick(3)) * PAGE_SIZE);

	gset(at, v);
	snprintf(what, len, "stack page 0x%x := 0x%llx, then update_range(0x%x, 0x%llx, %llu)", p,
		 (unsigned long long)v, tops[t], (unsigned long long)start,
		 (unsigned long long)((end - start) >> PAGE_SHIFT));
	snprintf(want, wlen, "kernel stack page 0x");
	return shadow_update_range(g, tops[t], (gva_t)start, (u32)((end - start) >> PAGE_SHIFT)) !=
	       UMBRA_EINVAL;
}

/* SWITCH with a new stack one of whose pages is not writable (announced so): a kill. */
int hostile_switch_stack(char *what, size_t len, char *want, size_t wlen)
{
	u32 esp, pages, lo, hi, p;
	gpa_t at;
	pte_t v;
	int t;

	choose_stack(&esp, &pages, &lo, &hi);
	if (!map_stack(lo, hi))
		return -1;
	p = lo + pick((hi - lo) >> PAGE_SHIFT) * PAGE_SIZE;
	if (in_stack(p))
		return -1;
	at = leaf_entry_at(tops[0], p);
	v = coin(50) ? not_present() : (gget(at) & ~W) | A | D;
	note("hostile: entry for 0x%x := 0x%llx, announced", p, (unsigned long long)v);
	if (!announce_leaf(0, p, at, v))
		return -1;
	t = (int)pick(ntops);
	snprintf(what, len, "stack page 0x%x := 0x%llx, then switch(0x%x, 0x%x, %u)", p,
		 (unsigned long long)v, tops[t], esp, pages);
	snprintf(want, wlen, "kernel stack page 0x%x is not mapped writable by page table 0x%x", p,
		 tops[t]);
	declare_stack(esp, pages);
	return shadow_new_pgtable(g, tops[t]) != UMBRA_EINVAL;
}

/* ---- PROTECT_RANGE ------------------------------------------------------------ */

/*
 * Fork's write-protect, done by the hypervisor: every present leaf entry
 * of the range in top t with W loses it and gains `set`, in the guest's
 * table and in the named shadow (the kernel's for kernel addresses). The
 * model works out beforehand which entries change and to what, and checks
 * the guest's tables and the count afterwards; the checker then sees that
 * no shadow kept W. The stack stays out of a valid range.
 */
void op_protect_range(void)
{
	bool kernel = want_kernel();
	int t = cur < 0 || kernel ? (int)pick(ntops) : coin(70) ? cur : (int)pick(ntops);
	u32 set = coin(50) ? (u32)pick(8) << 9 : 0, pages, changed = 0;
	unsigned n = 0;
	char what[96];
	gva_t va;
	u64 end;
	s32 r;

	choose_range(kernel, &va, &pages);
	end = (u64)va + (u64)pages * PAGE_SIZE;
	if (stack_hi && va < stack_hi && end > stack_lo) {
		if (va >= stack_lo)
			return;
		end = stack_lo;
		pages = (u32)((end - va) >> PAGE_SHIFT);
	}
	for (u64 a = va; a < end;) {
		gpa_t at = leaf_entry_at(tops[t], (gva_t)a);
		pte_t e;

		if (at == GPA_NONE) {
			a = ALIGN_DOWN(a, DIR_SPAN) + DIR_SPAN;
			continue;
		}
		e = gget(at);
		wrote_at[n] = at;
		wrote[n++] = (e & (P | W)) == (P | W) ? (e & ~W) | set : e;
		changed += (e & (P | W)) == (P | W);
		a += PAGE_SIZE;
	}
	snprintf(what, sizeof(what), "protect_range(0x%x, 0x%x, %u, 0x%x)", tops[t], va, pages, set);
	note("top 0x%x: %s (%u entries to change)", tops[t], what, changed);
	sim_totals.ranges++;
	r = shadow_protect_range(g, tops[t], va, pages, set);
	if (r < 0 || !alive()) {
		call_ok(r < 0 ? r : -1, what);
		return;
	}
	if ((u32)r != changed)
		fail(CK_CALLS, "%s returned %d; %u entries had P and W", what, r, changed);
	for (unsigned i = 0; i < n; i++)
		if (gget(wrote_at[i]) != wrote[i]) {
			fail(CK_CALLS, "%s left 0x%llx at 0x%x, expected 0x%llx", what,
			     (unsigned long long)gget(wrote_at[i]), wrote_at[i], (unsigned long long)wrote[i]);
			break;
		}
}

/* Software bits only may be set: anything else kills. */
int hostile_protect_bits(gva_t va, char *what, size_t len, char *want, size_t wlen)
{
	u32 set = (coin(50) ? 1u << pick(9) : 1u << (12 + pick(20))) | (coin(50) ? PTE_AVAIL : 0);

	snprintf(what, len, "protect_range(0x%x, 0x%x, 1, 0x%x)", tops[cur], va, set);
	snprintf(want, wlen, "protect_range: bits 0x%x to set are not software bits", set);
	return shadow_protect_range(g, tops[cur], va, 1, set) != UMBRA_EINVAL;
}

/* The kernel stack inside a write-protected range: a kill. */
int hostile_protect_stack(char *what, size_t len, char *want, size_t wlen)
{
	u64 start = stack_lo - pick(3) * PAGE_SIZE, end = MIN((u64)SW_BASE, (u64)stack_hi + pick(3) * PAGE_SIZE);
	int t = (int)pick(ntops);

	snprintf(what, len, "protect_range(0x%x, 0x%llx, %llu) over the stack [0x%x, 0x%x)", tops[t],
		 (unsigned long long)start, (unsigned long long)((end - start) >> PAGE_SHIFT), stack_lo,
		 stack_hi);
	snprintf(want, wlen, "kernel stack page 0x%x is not mapped writable", stack_lo);
	return shadow_protect_range(g, tops[t], (gva_t)start, (u32)((end - start) >> PAGE_SHIFT), 0) >= 0;
}
