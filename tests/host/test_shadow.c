/*
 * The shadow page tables against a simulated guest, in one paging format
 * (the Makefile builds this file twice: test_shadow_2level with
 * -DUMBRA_PAE=0, test_shadow_pae with -DUMBRA_PAE=1).
 *
 * First long seeded random sequences (the simulator, sim_*.c): table edits
 * announced and silent, hypercalls, CR3 switches over more top levels than
 * the cache holds, accesses and translations, with every shadow entry
 * checked after each step, then one hostile operation per guest and a leak
 * check after teardown. One result line per kind of check, not per step.
 *
 * Then directed tests, each a short story about one behaviour, each in a
 * child process so that a broken Switcher table cannot spoil the next.
 *
 * Options: --seeds N, --steps N, --seed N (run only that seed), --trace
 * (print every operation; use with --seed to replay a failure).
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "shadow_sim.h"
#include "mm/frame.h"
#include "mm/phys.h"
#include "mm/pt.h"

#define F	(&pt_native)
#define PAE	(F->levels == 3)
#define LEAF	(F->levels - 1u)
#define DIR	(F->levels - 2u)
#define FMT	(PAE ? "PAE" : "2-level")
#define SW_BASE	(F->switcher_base)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void report_random(unsigned first, unsigned seeds, double secs)
{
	const struct sim_totals *t = &sim_totals;

	for (int k = 0; k < CK_COUNT; k++) {
		char name[400];

		if (k == CK_AGREE)
			snprintf(name, sizeof(name), "%s: seeds %u-%u: %s (%llu random steps, %llu checks, %u disagreements, %.0f steps/s)",
				 FMT, first, first + seeds - 1, sim_check_names[k],
				 (unsigned long long)t->steps, (unsigned long long)t->checks,
				 t->fails[k], t->steps / secs);
		else if (k == CK_FAULT)
			snprintf(name, sizeof(name), "%s: %s (%llu accesses: %llu fixed, %llu reflected, %llu of them not present; %llu translations)",
				 FMT, sim_check_names[k], (unsigned long long)t->accesses,
				 (unsigned long long)t->fixed, (unsigned long long)t->reflected,
				 (unsigned long long)t->not_present, (unsigned long long)t->translations);
		else if (k == CK_CALLS)
			snprintf(name, sizeof(name), "%s: %s (%llu set calls, %llu ranges (%llu entries shadowed at once), %llu flushes, %llu switches, %llu evictions, %llu silent edits)",
				 FMT, sim_check_names[k], (unsigned long long)t->set_calls,
				 (unsigned long long)t->ranges, (unsigned long long)t->range_shadowed,
				 (unsigned long long)t->flushes, (unsigned long long)t->switches,
				 (unsigned long long)t->evictions, (unsigned long long)t->silent);
		else if (k == CK_LEAK)
			snprintf(name, sizeof(name), "%s: %s (%llu guests, %llu of them killed for want of shadow frames)",
				 FMT, sim_check_names[k], (unsigned long long)t->seeds,
				 (unsigned long long)t->starved);
		else if (k == CK_HOSTILE)
			snprintf(name, sizeof(name), "%s: %s (%llu guests)", FMT, sim_check_names[k],
				 (unsigned long long)t->kills);
		else
			snprintf(name, sizeof(name), "%s: %s", FMT, sim_check_names[k]);
		if (!check_done(!t->fails[k], name, check_fmt("%u failures; first: %s", t->fails[k], t->first[k])))
			printf("  last operations before it:\n%s", t->trace[k]);
	}
	printf("test_shadow (%s): %llu steps in %.2f s: %.0f steps per second\n", FMT,
	       (unsigned long long)sim_totals.steps, secs, sim_totals.steps / secs);
}

/* ---- directed tests ----------------------------------------------------- */

/* Map va to guest frame pfn in the tables under cr3, making tables as needed. */
static void map(gpa_t cr3, gva_t va, pfn_t pfn, pte_t flags)
{
	gpa_t table = cr3;

	for (unsigned l = 0; l < LEAF; l++) {
		gpa_t at = table + pt_index(F, l, va) * F->entry_bytes;
		pte_t e = sim_gget(at);

		if (!(e & PTE_P)) {
			e = sim_table_alloc() | (PAE && l == 0 ? PTE_P : PTE_P | PTE_W | PTE_U | PTE_A);
			sim_gset(at, e);
		}
		table = pte_addr(F, e);
	}
	sim_gset(table + pt_index(F, LEAF, va) * F->entry_bytes, ((pte_t)pfn << PAGE_SHIFT) | flags);
}

static gpa_t dir_entry(gpa_t cr3, gva_t va)
{
	if (!PAE)
		return cr3 + pt_index(F, 0, va) * 4;
	return pte_addr(F, sim_gget(cr3 + pt_index(F, 0, va) * 8)) + pt_index(F, 1, va) * 8;
}

static bool end_guest(char *why, size_t len)
{
	return sim_guest_end(why, len);
}

/*
 * Table lifetime: table A is shadowed, left, then its page is reused for
 * another address space (va now maps another frame) without a word. In
 * audit mode the switch back to it must kill the guest, naming the table
 * and the likely cause; after RELEASE_PGTABLE the same reuse is clean.
 */
static bool reuse(bool release, char *why, size_t len)
{
	struct guest *g = sim_guest_new(MiB(4), 4, 0);
	gpa_t a = sim_table_alloc(), b = sim_table_alloc();
	gva_t va = 0x00800000;
	enum fault_result fr;
	u32 err;
	s32 r;

	g->shadow.audit = true;
	map(a, va, 5, PTE_P | PTE_W | PTE_A | PTE_D);
	map(b, va, 5, PTE_P | PTE_W | PTE_A | PTE_D);
	shadow_new_pgtable(g, a);
	fr = shadow_fault(g, va, 0, &err);
	if (fr != FAULT_FIXED || !sim_shadow_entry(va)) {
		snprintf(why, len, "the first access was not shadowed (%d)", fr);
		return false;
	}
	shadow_new_pgtable(g, b);
	if (release && shadow_release(g, a)) {
		snprintf(why, len, "release_pgtable of a table not in use failed: %s", g->reason);
		return false;
	}
	map(a, va, 6, PTE_P | PTE_W | PTE_A | PTE_D);	/* the page reused, silently */
	r = shadow_new_pgtable(g, a);
	if (release ? (r || !guest_alive(g)) :
	    (guest_alive(g) || !strstr(g->reason, "audit at new_pgtable") ||
	     !strstr(g->reason, "freed and reused without release_pgtable"))) {
		snprintf(why, len, "new_pgtable of the reused table returned %d; the guest %s: \"%s\"",
			 r, guest_alive(g) ? "lives" : "was killed", g->reason);
		return false;
	}
	return end_guest(why, len);
}

static bool reuse_unreleased(char *why, size_t len)
{
	return reuse(false, why, len);
}

static bool reuse_released(char *why, size_t len)
{
	return reuse(true, why, len);
}

/*
 * The CPU never faults in the Switcher region (every guest segment ends
 * below it), but if a fault there ever reached the shadow code, a guest
 * mapping of its own for that address must not land in the Switcher's page
 * table, which every guest shares.
 */
static bool switcher_fault(u32 kb, char *why, size_t len)
{
	struct guest *g = sim_guest_new(MiB(4), 4, kb);
	gpa_t cr3 = sim_table_alloc();
	gva_t va = SW_BASE + PAGE_SIZE;
	pte_t before, after;
	u32 err = 0;
	enum fault_result r;

	map(cr3, 0x400000, 5, PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
	map(cr3, va, 9, PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);	/* silently, in its own table */
	if (shadow_new_pgtable(g, cr3)) {
		snprintf(why, len, "new_pgtable failed: %s", g->reason);
		return false;
	}
	before = sim_shadow_entry(va);
	r = shadow_fault(g, va, 2 | 4, &err);
	after = sim_shadow_entry(va);
	if (after != before || !sim_switcher_intact()) {
		snprintf(why, len, "shadow_fault(0x%x) returned %d and the CPU now sees 0x%llx there instead of the Switcher's 0x%llx",
			 va, r, (unsigned long long)after, (unsigned long long)before);
		return false;
	}
	return end_guest(why, len);
}

/*
 * A kernel stack whose top is not page aligned (Linux's 32-bit sp0 sits 8
 * bytes below a page boundary): the page the CPU pushes to first, holding
 * esp1 - 4, must be pinned, as must every page of the stack below it.
 */
static bool pin_unaligned(char *why, size_t len)
{
	struct guest *g = sim_guest_new(MiB(4), 4, 0xc0000000);
	gpa_t cr3 = sim_table_alloc();
	u32 top = 0xc0403000;

	for (unsigned i = 0; i < 4; i++)
		map(cr3, top - (i + 1) * PAGE_SIZE, 10 + i, PTE_P | PTE_W | PTE_A | PTE_D);
	if (shadow_new_pgtable(g, cr3)) {
		snprintf(why, len, "new_pgtable failed: %s", g->reason);
		return false;
	}
	g->ss1 = UMBRA_KERNEL_DS;
	g->esp1 = top - 8;
	g->stack_pages = 2;
	if (!shadow_pin_stack(g)) {
		snprintf(why, len, "pin failed: %s", g->reason);
		return false;
	}
	for (u32 va = (g->esp1 - g->stack_pages * PAGE_SIZE) & PAGE_MASK; va < g->esp1; va += PAGE_SIZE) {
		pte_t s = sim_shadow_entry(va);

		if ((s & (PTE_P | PTE_W)) != (PTE_P | PTE_W)) {
			snprintf(why, len, "esp1 0x%x, 2 pages: page 0x%x of the stack has shadow entry 0x%llx",
				 g->esp1, va, (unsigned long long)s);
			return false;
		}
	}
	return end_guest(why, len);
}

/*
 * SET_PMD (PAE) and SET_PGD name any address inside the region they map.
 * Re-announcing the directory entry above the kernel stack from an address
 * higher in the same region must still leave the stack pinned.
 */
static bool pin_after_dir(char *why, size_t len)
{
	struct guest *g = sim_guest_new(MiB(4), 4, 0xc0000000);
	gpa_t cr3 = sim_table_alloc();
	u32 stack = 0xc0001000, other = 0xc0000000 + F->large_page - PAGE_SIZE;
	pte_t pde;
	s32 r;

	map(cr3, stack, 12, PTE_P | PTE_W | PTE_A | PTE_D);
	map(cr3, other, 13, PTE_P | PTE_W | PTE_A | PTE_D);
	if (shadow_new_pgtable(g, cr3)) {
		snprintf(why, len, "new_pgtable failed: %s", g->reason);
		return false;
	}
	g->ss1 = UMBRA_KERNEL_DS;
	g->esp1 = stack + PAGE_SIZE;
	g->stack_pages = 1;
	if (!shadow_pin_stack(g) || !(sim_shadow_entry(stack) & PTE_W)) {
		snprintf(why, len, "pin failed: %s", g->reason);
		return false;
	}
	pde = sim_gget(dir_entry(cr3, other));
	r = PAE ? shadow_set_entry(g, DIR, cr3, other, pde) :
		  shadow_set_pgd(g, cr3, other >> F->level[0].shift, pde);
	if (r || g->state != GUEST_RUNNABLE) {
		snprintf(why, len, "re-announcing the directory entry returned %d: %s", r, g->reason);
		return false;
	}
	if ((sim_shadow_entry(stack) & (PTE_P | PTE_W)) != (PTE_P | PTE_W)) {
		snprintf(why, len, "after %s(0x%x, 0x%x, 0x%llx) the stack page 0x%x has shadow entry 0x%llx",
			 PAE ? "set_pmd" : "set_pgd", cr3, other, (unsigned long long)pde, stack,
			 (unsigned long long)sim_shadow_entry(stack));
		return false;
	}
	return end_guest(why, len);
}

/* A large-page directory entry is refused as one, by name. */
/*
 * mm/pt.c's walker, given a large page on the way (at the directory level
 * with 2-level paging, as the hypervisor's own tables have them), must
 * stop there rather than read the page as a table, and pt_put_tree must
 * not free the page as one.
 */
static bool walker_stops_at_large(char *why, size_t len)
{
	mfn_t top = frame_alloc_zeroed(FRAME_PAGETABLE, NO_GUEST), page = frame_alloc(FRAME_HYPERVISOR, NO_GUEST);
	void *t = mfn_to_virt(top), *dir = t;
	unsigned large = F->levels == 3 ? 1 : 0;
	u32 va = 0x00400000;
	bool ok;

	if (large) {
		mfn_t d = frame_alloc_zeroed(FRAME_PAGETABLE, NO_GUEST);

		pte_set(F, t, pt_index(F, 0, va), ((pte_t)d << PAGE_SHIFT) | PTE_P);
		dir = mfn_to_virt(d);
	}
	pte_set(F, dir, pt_index(F, large, va), ((pte_t)page << PAGE_SHIFT) | PTE_P | PTE_W | PTE_PS);
	ok = !pt_table_at(F, t, LEAF, va, false, FRAME_PAGETABLE, NO_GUEST) &&
	     !pt_table_at(F, t, LEAF, va, true, FRAME_PAGETABLE, NO_GUEST);
	pt_put_tree(F, top, 0);
	ok = ok && frame_info(page)->refs == 1 && frame_info(page)->owner == FRAME_HYPERVISOR;
	frame_put(page);
	if (!ok)
		snprintf(why, len, "the walker went through a large page");
	return ok;
}

static bool large_page_named(char *why, size_t len)
{
	struct guest *g = sim_guest_new(MiB(4), 4, 0);
	gpa_t cr3 = sim_table_alloc();
	gva_t va = 0x00800000;
	pte_t v = ((pte_t)0x200 << PAGE_SHIFT) | PTE_P | PTE_W | PTE_U | PTE_A | PTE_PS;
	s32 r;

	map(cr3, va, 5, PTE_P | PTE_A);
	if (shadow_new_pgtable(g, cr3)) {
		snprintf(why, len, "new_pgtable failed: %s", g->reason);
		return false;
	}
	r = PAE ? shadow_set_entry(g, DIR, cr3, va, v) : shadow_set_pgd(g, cr3, va >> F->level[0].shift, v);
	if (r != UMBRA_EINVAL || g->state != GUEST_DYING || !strstr(g->reason, "large page")) {
		snprintf(why, len, "%s with PS set returned %d; the guest %s: \"%s\"",
			 PAE ? "set_pmd" : "set_pgd", r, g->state == GUEST_DYING ? "was killed" : "lives",
			 g->reason);
		return false;
	}
	return end_guest(why, len);
}

/*
 * guest_create with too few frames, short by one frame at each step of
 * building the guest and its shadow: refused with a reason, and nothing
 * kept. Just enough: the guest is made.
 */
static bool create_short(char *why, size_t len)
{
	u32 mem = MiB(1) + 3 * PAGE_SIZE, pfns = mem / PAGE_SIZE;
	u32 need = 1 + (pfns + P2M_PER_PAGE - 1) / P2M_PER_PAGE + pfns + 2 + 1 + 1 + (PAE ? 4 : 0);

	sim_machine_init();
	for (u32 give = need - 10; give <= need; give++) {
		u32 free_before = frame_count(FRAME_FREE);
		char reason[128] = "";
		struct guest *g;

		sim_hog_frames(give);
		g = guest_create("short", mem, 4, reason, sizeof(reason));
		if ((g != NULL) != (give == need) || (!g && !strstr(reason, "not enough memory"))) {
			snprintf(why, len, "with %u of the %u frames needed: guest %s (\"%s\")", give, need,
				 g ? "made" : "refused", reason);
			return false;
		}
		if (g)
			guest_teardown(g);	/* BUILDING: back to FREE */
		sim_unhog_frames();
		if (frame_count(FRAME_FREE) != free_before || frame_count(FRAME_SHADOW) ||
		    frame_count(FRAME_GUEST) || frame_info(sim_switcher_pt())->refs != 1) {
			snprintf(why, len, "with %u of the %u frames needed: %u frames free after, %u before",
				 give, need, frame_count(FRAME_FREE), free_before);
			return false;
		}
	}
	return true;
}

/* Whether the shadow cache holds a top level for cr3. */
static bool cached(const struct guest *g, gpa_t cr3)
{
	for (unsigned i = 0; i < g->shadow.ntops; i++)
		if (g->shadow.tops[i].cr3 == cr3)
			return true;
	return false;
}

/*
 * With two cached top levels, switching A, B, A, C must throw out B, the
 * least recently used, and keep A; then D throws out A, now the oldest.
 */
static bool evicts_lru(char *why, size_t len)
{
	struct guest *g = sim_guest_new(MiB(4), 2, 0);
	gpa_t t[4];
	static const unsigned order[] = { 0, 1, 0, 2 };

	for (unsigned i = 0; i < 4; i++) {
		t[i] = sim_table_alloc();
		map(t[i], 0x400000, 5, PTE_P | PTE_W | PTE_A | PTE_D);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(order); i++)
		if (shadow_new_pgtable(g, t[order[i]])) {
			snprintf(why, len, "new_pgtable(0x%x) failed", t[order[i]]);
			return false;
		}
	if (!cached(g, t[0]) || cached(g, t[1]) || !cached(g, t[2])) {
		snprintf(why, len, "after A B A C: A %s, B %s, C %s (want A and C kept, B evicted)",
			 cached(g, t[0]) ? "kept" : "evicted", cached(g, t[1]) ? "kept" : "evicted",
			 cached(g, t[2]) ? "kept" : "evicted");
		return false;
	}
	shadow_new_pgtable(g, t[3]);
	if (cached(g, t[0]) || !cached(g, t[2]) || g->shadow.evictions != 2) {
		snprintf(why, len, "after D: A %s, C %s, %llu evictions (want A evicted, C kept, 2)",
			 cached(g, t[0]) ? "kept" : "evicted", cached(g, t[2]) ? "kept" : "evicted",
			 (unsigned long long)g->shadow.evictions);
		return false;
	}
	return end_guest(why, len);
}

/*
 * What a range call reaches, as the ABI says: the named top's shadow, and
 * for kernel addresses the shared kernel leaf tables, never another top
 * that links the same leaf table (that one stays as stale as after
 * SET_PTE, until a flush). Tops A and B share leaf table L at a user
 * address, and the kernel's at a kernel address; both shadowed writable.
 * Then L's entry moves to another frame, announced for A with UPDATE_RANGE
 * while B runs, and the kernel's is write-protected with PROTECT_RANGE
 * named through A: A's shadow follows both, B's the kernel one only.
 */
static bool range_reach(bool protect, char *why, size_t len)
{
	struct guest *g = sim_guest_new(MiB(4), 4, 0xc0000000);
	gpa_t a = sim_table_alloc(), b = sim_table_alloc();
	gva_t va = 0x00800000, kva = 0xc0400000;
	pte_t fa, fb, ka, kb, rw = PTE_P | PTE_W | PTE_U | PTE_A | PTE_D;
	u32 err;
	s32 r;

	map(a, va, 5, rw);
	map(a, kva, 6, rw);
	map(b, va, 9, rw);	/* B's upper levels; its leaf tables are then A's */
	map(b, kva, 9, rw);
	sim_gset(dir_entry(b, va), sim_gget(dir_entry(a, va)));
	sim_gset(dir_entry(b, kva), sim_gget(dir_entry(a, kva)));
	if (shadow_new_pgtable(g, a) || shadow_fault(g, va, 2, &err) != FAULT_FIXED ||
	    shadow_fault(g, kva, 2, &err) != FAULT_FIXED || shadow_new_pgtable(g, b) ||
	    shadow_fault(g, va, 2, &err) != FAULT_FIXED) {
		snprintf(why, len, "setting up failed: %s", g->reason);
		return false;
	}
	if (protect) {
		r = shadow_protect_range(g, a, va, 1, 0x200);
		r += shadow_protect_range(g, a, kva, 1, 0);
	} else {
		sim_gset(pte_addr(F, sim_gget(dir_entry(a, va))) + pt_index(F, LEAF, va) * F->entry_bytes,
			 ((pte_t)7 << PAGE_SHIFT) | rw);
		r = shadow_update_range(g, a, va, 1);
	}
	fa = sim_shadow_entry_of(a, va), fb = sim_shadow_entry_of(b, va);
	ka = sim_shadow_entry_of(a, kva), kb = sim_shadow_entry_of(b, kva);
	if (r != (protect ? 2 : 0) || g->state != GUEST_RUNNABLE) {
		snprintf(why, len, "the call returned %d: %s", r, g->reason);
		return false;
	}
	if (protect ? (fa & PTE_W) || (ka & PTE_W) || (kb & PTE_W) || !(fb & PTE_W) :
		      pte_mfn(F, fa) != guest_p2m(g, 7) || pte_mfn(F, fb) != guest_p2m(g, 5)) {
		snprintf(why, len, "after %s named through A: A has 0x%llx (kernel 0x%llx), B 0x%llx (kernel 0x%llx)",
			 protect ? "protect_range" : "update_range", (unsigned long long)fa,
			 (unsigned long long)ka, (unsigned long long)fb, (unsigned long long)kb);
		return false;
	}
	return end_guest(why, len);
}

static bool update_reach(char *why, size_t len) { return range_reach(false, why, len); }
static bool protect_reach(char *why, size_t len) { return range_reach(true, why, len); }

/*
 * PROTECT_RANGE over a self-map: the leaf entries of the range are the
 * directory's own entries, so the hypervisor, not the guest, takes W from
 * a directory entry. The shadow of a page below that entry must not stay
 * writable (invariant 1: never more than the guest's tables allow).
 *
 * Found by this test at 1dfdd95, in both formats: shadow_protect_range()
 * cleared W in the directory entry and in the shadow leaf entry for the
 * self-map page only, and the shadow leaf table below the directory entry
 * kept W. protect_selfmap() in shadow.c now drops it.
 */
static bool protect_selfmap(char *why, size_t len)
{
	struct guest *g = sim_guest_new(MiB(4), 4, 0);
	gpa_t cr3 = sim_table_alloc(), dir;
	/* The self-map in the last slot of the directory that also maps va (PAE: GiB 2's). */
	gva_t self = PAE ? 0xbfe00000u : 0x80000000u, va = PAE ? 0x80001000u : 0x00001000u, at;
	pte_t rw = PTE_P | PTE_W | PTE_U | PTE_A | PTE_D, s;
	u32 err;
	s32 r;

	map(cr3, va, 5, rw);
	map(cr3, self, 6, rw);	/* makes self's tables; its directory entry is then pointed home */
	dir = PAE ? pte_addr(F, sim_gget(cr3 + pt_index(F, 0, self) * 8)) : cr3;
	sim_gset(dir_entry(cr3, self), dir | PTE_P | PTE_W | PTE_U | PTE_A);
	if (shadow_new_pgtable(g, cr3) || shadow_fault(g, va, 2, &err) != FAULT_FIXED) {
		snprintf(why, len, "setting up failed: %s", g->reason);
		return false;
	}
	/* Through the self-map, va's directory entry is the leaf entry of this page. */
	at = self + pt_index(F, DIR, va) * PAGE_SIZE;
	r = shadow_protect_range(g, cr3, at, 1, 0);
	s = sim_shadow_entry(va);
	if (r != 1 || g->state != GUEST_RUNNABLE || (sim_gget(dir_entry(cr3, va)) & PTE_W)) {
		snprintf(why, len, "protect_range(0x%x, 1) returned %d (%s); the directory entry for 0x%x is 0x%llx",
			 at, r, g->reason, va, (unsigned long long)sim_gget(dir_entry(cr3, va)));
		return false;
	}
	if (s & PTE_W) {
		snprintf(why, len, "protect_range(0x%x, 1) through the self-map took W from the directory entry for 0x%x (now 0x%llx), yet the shadow still lets 0x%x be written (entry 0x%llx)",
			 at, va, (unsigned long long)sim_gget(dir_entry(cr3, va)), va, (unsigned long long)s);
		return false;
	}
	return end_guest(why, len);
}

/* Run one directed test in a child, so that a failure cannot spoil the rest. */
static void directed(bool (*fn)(char *, size_t), const char *name)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char why[512] = "";

		check_done(fn(why, sizeof(why)), name, why);
		exit(check_failed ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		check_done(false, name, "fork failed");
		return;
	}
	check_total++;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		check_failed++;
		if (!WIFEXITED(status))
			printf("FAIL %s: %s: the child died (signal %d)\n", check_file(), name,
			       WTERMSIG(status));
	}
}

static bool switcher_fault_user(char *why, size_t len) { return switcher_fault(0, why, len); }
static bool switcher_fault_kernel(char *why, size_t len) { return switcher_fault(0xc0000000, why, len); }

int main(int argc, char **argv)
{
	unsigned first = 1, seeds = UMBRA_PAE ? 180 : 240, steps = 500;
	bool trace = false, only = false;
	double t0, secs;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
			seeds = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--steps") && i + 1 < argc) {
			steps = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			first = strtoul(argv[++i], NULL, 0);
			seeds = 1;
			only = true;
		} else if (!strcmp(argv[i], "--trace")) {
			trace = true;
		} else {
			fprintf(stderr, "usage: %s [--seeds N] [--steps N] [--seed N] [--trace]\n", argv[0]);
			return 2;
		}
	}

	sim_machine_init();
	t0 = now();
	for (unsigned s = first; s < first + seeds; s++)
		sim_run(&(struct sim_options){ .seed = s, .steps = steps, .hostile = true, .trace = trace });
	secs = now() - t0;
	report_random(first, seeds, secs > 0 ? secs : 1e-9);
	if (only)
		return check_status();

	directed(switcher_fault_user, check_fmt("%s: a fault in the Switcher region leaves the Switcher's table alone", FMT));
	directed(switcher_fault_kernel, check_fmt("%s: ... also with a kernel address set (shared kernel tables)", FMT));
	directed(pin_unaligned, check_fmt("%s: a kernel stack top not page aligned is pinned page by page", FMT));
	directed(pin_after_dir, check_fmt("%s: %s above the stack, named by another address in its region, keeps the stack pinned",
					  FMT, PAE ? "set_pmd" : "set_pgd"));
	directed(create_short, check_fmt("%s: guest_create short of frames at any step refuses and keeps nothing", FMT));
	directed(evicts_lru, check_fmt("%s: the cache evicts the least recently used top level", FMT));
	directed(large_page_named, check_fmt("%s: a large-page directory entry is refused as a large page", FMT));
	directed(walker_stops_at_large, check_fmt("%s: the table walker stops at a large page and does not free it", FMT));
	directed(reuse_unreleased, check_fmt("%s: audit mode kills a guest that reuses a table without releasing it", FMT));
	directed(reuse_released, check_fmt("%s: a table released, then reused, runs clean in audit mode", FMT));
	directed(update_reach, check_fmt("%s: update_range reaches the named top and the kernel's leaf tables, not another top sharing the leaf table", FMT));
	directed(protect_selfmap, check_fmt("%s: protect_range through a self-map leaves no shadow writable below the directory entry it protects", FMT));
	directed(protect_reach, check_fmt("%s: protect_range reaches the named top and the kernel's leaf tables, not another top sharing the leaf table", FMT));
	return check_status();
}
