/*
 * Page-table hypercalls with their expected results: SET_PTE for the
 * window, the kernel window, page 0 and the identity pages that may be
 * remapped, for tables that are not there (EINVAL), SET_PMD/SET_PGD for the
 * window slots and the self-map, PAE's top-level entries, and entries
 * written behind the hypervisor's back followed by a flush that covers
 * them, runs of leaf entries rewritten in place and announced with one
 * UPDATE_RANGE, and runs write-protected by PROTECT_RANGE. The write is made first, as the ABI asks; which tops'
 * cached shadows may now lag is recorded for ensure_fresh().
 */
#include "fz.h"

#define ADDR(e)		((u32)((e) & 0xfffff000u))
#define PWT		0x8u
#define PCD		0x10u
#define AVAIL		0xe00u
#define ALL_TOPS	((1u << NTOPS) - 1)

void call_init_pt(struct call *c, u32 nr, const char *what)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->nr = nr;
	c->tls_slot = -1;
	c->gate_vec = -1;
	c->new_cur = -1;
	c->stale_and = ~0u;
	c->what = what;
}

static void set_args(struct call *c, u32 top, u32 va, umbra_pte_t v)
{
	c->a[0] = top;
	c->a[1] = va;
	c->a[2] = (u32)v;
	c->a[3] = (u32)((u64)v >> 32);
}

static u32 pick_top(void)
{
	return chance(50) ? M.cur : rn(NTOPS);
}

/*
 * The tops whose shadow of leaf table L an announcement for one address
 * of top t leaves behind: every other top linking L, and t itself if it
 * links L at both window slots (the other address is an alias, and
 * SET_PTE and FLUSH_ONE, like invlpg, reach only the address named).
 */
static u32 left_stale(u32 L, u32 t)
{
	umbra_pte_t *a = dir_slot(M.tops[t], WIN), *b = dir_slot(M.tops[t], WIN2);
	int aliased = a && b && (*a & UMBRA_PTE_P) && (*b & UMBRA_PTE_P) && ADDR(*a) == L &&
		      ADDR(*b) == L;

	return tops_linking(L) & (aliased ? ~0u : ~(1u << t));
}

/* SET_PTE for a window page of top t: stored if the leaf table is linked, else EINVAL. */
static void gen_win_pte(struct call *c)
{
	u32 t = pick_top(), top = M.tops[t];
	u32 va = (chance(75) ? WIN : WIN2) + 0x1000 * rn(WPAGES) + (chance(20) ? rn(0x1000) : 0);
	umbra_pte_t v = gen_pte(), *d = dir_slot(top, va);

	call_init_pt(c, UMBRA_HC_SET_PTE, "set_pte win");
	set_args(c, top, va, v);
#if UMBRA_PAE
	batch_dep_add(top + 8 * (va >> 30));
#endif
	if (d)
		batch_dep_add((u32)(uintptr_t)d);
	if (!d || !(*d & UMBRA_PTE_P)) {
		c->expect = UMBRA_EINVAL;
		return;
	}
	*ent(ADDR(*d), (va >> 12) & (UMBRA_PT_ENTRIES - 1)) = v;
	batch_dep_add((u32)(uintptr_t)ent(ADDR(*d), (va >> 12) & (UMBRA_PT_ENTRIES - 1)));
	c->stale_or = left_stale(ADDR(*d), t);
}

static void gen_kernel_pte(struct call *c)
{
	u32 t = pick_top(), va = KBASE + 0x1000 * rn(KPAGES);
	umbra_pte_t v = gen_pte();

	call_init_pt(c, UMBRA_HC_SET_PTE, "set_pte kernel");
	set_args(c, M.tops[t], va, v);
	*ent(M.kleaf, (va >> 12) & (UMBRA_PT_ENTRIES - 1)) = v;
	batch_dep_add((u32)(uintptr_t)ent(M.kleaf, (va >> 12) & (UMBRA_PT_ENTRIES - 1)));
}

/* Page 0 or an identity page that nothing uses: shared by every top. */
static void gen_ids_pte(struct call *c)
{
	u32 t = pick_top(), va = chance(25) && !(fz_skip & SKIP_LDT) ? 0 : IDS + 0x1000 * rn(NIDS);
	umbra_pte_t v = chance(40) && va ? (umbra_pte_t)(va | UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A |
						    UMBRA_PTE_D) : gen_pte();

	call_init_pt(c, UMBRA_HC_SET_PTE, "set_pte ids");
	set_args(c, M.tops[t], va, v);
	*leaf_slot(M.tops[t], va) = v;
	batch_dep_add((u32)(uintptr_t)leaf_slot(M.tops[t], va));
	c->stale_or = ALL_TOPS & ~(1u << t);
}

/* Tables that are not there: UMBRA_EINVAL, nothing stored. */
static void gen_einval_pte(struct call *c)
{
	static const u32 vas[] = { 0x90000000u, 0x90001234u, SWBASE - 1, SWBASE - 0x1000, 0xa0000000u };
	umbra_pte_t v = gen_pte(), *d;
	u32 top, va;

	call_init_pt(c, UMBRA_HC_SET_PTE, "set_pte absent");
	c->expect = UMBRA_EINVAL;
	if (chance(50)) {
		/* A "top-level table" that is all zeroes. */
		top = ZPAGE + (UMBRA_PAE ? 32 * rn(128) : 0);
		va = boundary32();
		if (va >= SWBASE)
			va = SWBASE - 1 - rn(0x1000);
		set_args(c, top, va, v);
		return;
	}
	top = M.tops[pick_top()];
	va = PICK(vas);
	set_args(c, top, va, v);
#if UMBRA_PAE
	batch_dep_add(top + 8 * (va >> 30));
#endif
	d = dir_slot(top, va);
	if (d)
		batch_dep_add((u32)(uintptr_t)d);
	if (d && (*d & UMBRA_PTE_P)) {
		c->expect = 0;
		*ent(ADDR(*d), (va >> 12) & (UMBRA_PT_ENTRIES - 1)) = v;
		batch_dep_add((u32)(uintptr_t)ent(ADDR(*d), (va >> 12) & (UMBRA_PT_ENTRIES - 1)));
	}
}

/* A directory entry value for the slot of va in top t. */
static umbra_pte_t gen_dir_value(u32 t, u32 va)
{
	if (chance(15))
		return boundary32() & ~1u;
	if (va == SELFVA)	/* skip=selfw: read-only, so that nothing writes through it */
		return (fz_skip & SKIP_SELF) ? 0 : self_dir(t) | (dir_flags() &
			~(umbra_pte_t)((fz_skip & SKIP_SELFW) ? UMBRA_PTE_W : 0));
	/* Never ZPAGE: a SET_PTE through it would store into it. */
	return (chance(40) ? M.lt[rn(NLT)] : M.winleaf[t]) | dir_flags();
}

/* The directory entry for WIN, WIN2 or the self-map slot, announced. */
static void gen_dir(struct call *c)
{
	static const u32 slots[] = { WIN, WIN, WIN2, WIN2, SELFVA };
	u32 t = pick_top(), top = M.tops[t], va = PICK(slots);
	umbra_pte_t *d = dir_slot(top, va), v = gen_dir_value(t, va);

#if UMBRA_PAE
	call_init_pt(c, UMBRA_HC_SET_PMD, "set_pmd");
	set_args(c, top, va + (chance(20) ? rn(DIRSPAN) : 0), v);
	batch_dep_add(top + 8);
	if (!d) {
		c->expect = UMBRA_EINVAL;
		return;
	}
#else
	call_init_pt(c, UMBRA_HC_SET_PGD, "set_pgd");
	set_args(c, top, va >> 22, v);
#endif
	if (!batch_dep_free((u32)(uintptr_t)d)) {
		gen_kernel_pte(c);
		return;
	}
	*d = v;
	batch_dep_add((u32)(uintptr_t)d);
	if (va != SELFVA && has_self(t))
		c->stale_or = 1u << t;
}

/* Top-level entries: PAE's PDPT entries 1 and 2 may change; the rest are re-announced. */
static void gen_pgd(struct call *c)
{
	u32 t = pick_top(), top = M.tops[t];
#if UMBRA_PAE
	u32 i = rn(4);
	umbra_pte_t *e = ent(top, i), v = *e;

	if (i == 1 || i == 2) {
		if (chance(25))
			v = boundary32() & ~1u;		/* not present */
		else
			v = pd_of[t][i] | UMBRA_PTE_P | (rnd() & (PWT | PCD | AVAIL));
	}
	call_init_pt(c, UMBRA_HC_SET_PGD, "set_pgd top");
	set_args(c, top, i, v);
	if (!batch_dep_free((u32)(uintptr_t)e)) {
		gen_kernel_pte(c);
		return;
	}
	*e = v;
	batch_dep_add((u32)(uintptr_t)e);
#else
	static const u32 same[] = { 0, 1, 2, 3, KBASE >> 22 };
	u32 i = PICK(same);

	call_init_pt(c, UMBRA_HC_SET_PGD, "set_pgd same");
	set_args(c, top, i, *ent(top, i));
#endif
}

/* Written behind the hypervisor's back, then a flush that covers it. */
static void gen_silent(struct call *c)
{
	u32 t = chance(80) ? M.cur : rn(NTOPS), top = M.tops[t];
	int is_cur = t == M.cur;

	call_init_pt(c, UMBRA_HC_FLUSH_TLB, "silent+flush");
	switch (rn(3)) {
	case 0: {	/* a window leaf entry */
		u32 va = (chance(75) ? WIN : WIN2) + 0x1000 * rn(WPAGES);
		umbra_pte_t *l = leaf_slot(top, va), *d = dir_slot(top, va);
		u32 others;

		if (!l || !batch_dep_free((u32)(uintptr_t)l)) {
			gen_win_pte(c);
			return;
		}
		*l = gen_pte();
		others = tops_linking(ADDR(*d));
		if (is_cur && chance(85)) {
			c->a[0] = UMBRA_FLUSH_ONE, c->a[1] = va + rn(0x1000);
			c->stale_or = left_stale(ADDR(*d), t);
		} else if (chance(50)) {
			c->a[0] = UMBRA_FLUSH_USER;
			c->stale_and = ~(1u << 31);
			c->stale_or = others & ~(1u << M.cur);
		} else {
			c->a[0] = UMBRA_FLUSH_ALL;
			c->stale_and = 0;
		}
		break;
	}
	case 1: {	/* a kernel leaf entry: one flush in any top reaches them all */
		u32 va = KBASE + 0x1000 * rn(KPAGES);
		umbra_pte_t *l = ent(M.kleaf, (va >> 12) & (UMBRA_PT_ENTRIES - 1));

		if (!batch_dep_free((u32)(uintptr_t)l)) {
			gen_kernel_pte(c);
			return;
		}
		*l = gen_pte();
		c->a[0] = chance(50) ? UMBRA_FLUSH_ONE : UMBRA_FLUSH_ALL;
		c->a[1] = va;
		if (c->a[0] == UMBRA_FLUSH_ALL)
			c->stale_and = 0;
		break;
	}
	default: {	/* a window directory entry */
		static const u32 slots[] = { WIN, WIN2, SELFVA };
		u32 va = PICK(slots);
		umbra_pte_t *d = dir_slot(top, va);

		if (!d || !batch_dep_free((u32)(uintptr_t)d)) {
			gen_kernel_pte(c);
			return;
		}
		*d = gen_dir_value(t, va);
		if (is_cur && chance(50)) {
			c->a[0] = UMBRA_FLUSH_USER;
			c->stale_and = ~(1u << 31);
		} else if (chance(50)) {
			c->a[0] = UMBRA_FLUSH_ALL;
			c->stale_and = 0;
		} else {
			c->a[0] = UMBRA_FLUSH_ONE;	/* not enough: stale until flushed */
			c->a[1] = va;
			c->stale_or = 1u << t;
		}
		break;
	}
	}
}

/* ---- UPDATE_RANGE ---------------------------------------------------------- */

u32 fz_range_va, fz_range_pages;

/* What a kernel writes in place: a new mapping, fork's write-protect, munmap's clear, A and D. */
static umbra_pte_t rewritten(umbra_pte_t old, unsigned how)
{
	if (how == 4)
		how = rn(4);
	switch (how) {
	case 0:
		return gen_pte();
	case 1:
		return (old & UMBRA_PTE_P) ? (old & ~(umbra_pte_t)UMBRA_PTE_W) | (rnd() & AVAIL) : old;
	case 2:
		return chance(80) ? 0 : gen_pte() & ~(umbra_pte_t)UMBRA_PTE_P;
	default:
		if (!(old & UMBRA_PTE_P))
			return old;
		return chance(25) ? old & ~(umbra_pte_t)(UMBRA_PTE_A | UMBRA_PTE_D) :
				    old | UMBRA_PTE_A | (chance(50) ? UMBRA_PTE_D : 0);
	}
}

/*
 * Rewrite the entries of [lo, hi) inside [va, end) that top t maps through
 * its leaf tables, the way `how` says (5: leave them). Returns the tops
 * whose shadows the call leaves behind: for a window leaf table every
 * other top linking it, and t itself if it links it at both window slots
 * (the alias is not named); for the identity tables every other top, as
 * they are linked into all; none for the kernel window, whose shadow leaf
 * tables are shared.
 */
static u32 rewrite_run(u32 t, u32 va, u64 end, u32 lo, u32 hi, unsigned how, int kind)
{
	u32 stale = 0;

	if (how == 5)
		return 0;
	for (u64 p = lo > va ? lo : va; p < hi && p < end; p += 0x1000) {
		umbra_pte_t *d = dir_slot(M.tops[t], (u32)p), *l = leaf_slot(M.tops[t], (u32)p);

		if (!l || !batch_dep_free((u32)(uintptr_t)l))
			continue;
		*l = kind == 2 && chance(40) ? (umbra_pte_t)((u32)p | UMBRA_PTE_P | UMBRA_PTE_W |
							     UMBRA_PTE_A | UMBRA_PTE_D) : rewritten(*l, how);
		batch_dep_add((u32)(uintptr_t)l);
		if (kind == 0)
			stale |= left_stale(ADDR(*d), t);
		else if (kind == 2)
			stale |= ALL_TOPS & ~(1u << t);
	}
	return stale;
}

/*
 * UPDATE_RANGE: a run of leaf entries of one top rewritten in place, then
 * one call: in the window (across from WIN's leaf table into WIN2's), the
 * kernel window, the identity pages that may be remapped, and long runs
 * over spans no shadow was built from, up to UMBRA_RANGE_MAX pages or up
 * to the Switcher. Always valid: a present entry gen_pte() makes is good.
 */
static void gen_update_range(struct call *c)
{
	/* A long batch of long ranges is minutes under TCG: inside batches, short ones only. */
	u32 t = pick_top(), va, pages, most = batch_open ? 64 : UMBRA_RANGE_MAX;
	unsigned how = rn(6);
	u64 end;

	call_init_pt(c, UMBRA_HC_UPDATE_RANGE, "update_range");
	switch (rn(7)) {
	case 0:
	case 1:
		va = (chance(70) ? WIN : WIN2) + 0x1000 * rn(WPAGES);
		pages = 1 + rn(chance(70) ? 8 : WPAGES);
		break;
	case 2:		/* the end of WIN's leaf table and the start of WIN2's */
		va = WIN2 - 0x1000 * (1 + rn(8));
		pages = (WIN2 - va) / 0x1000 + 1 + rn(WPAGES);
		break;
	case 3:
		va = KBASE + 0x1000 * rn(KPAGES);
		pages = 1 + rn(KPAGES);
		break;
	case 4:		/* the remappable identity pages and the fuzzer's own around them */
		va = IDS - 0x1000 * rn(4);
		pages = 1 + rn(NIDS + 8);
		break;
	case 5: {	/* long: mostly spans never shadowed */
		static const u32 starts[] = { 0x90000000u, WIN, KBASE, 0x1000 };

		va = PICK(starts);
		pages = chance(30) ? most : 1 + rn(most);
		if (va == 0x1000 && pages > M.mem / 0x1000 - 1)
			pages = M.mem / 0x1000 - 1;
		break;
	}
	default:	/* ending exactly at the Switcher */
		pages = 1 + rn(chance(50) ? 16 : most);
		va = SWBASE - pages * 0x1000;
		break;
	}
	end = (u64)va + (u64)pages * 0x1000;
	fz_range_va = va;
	fz_range_pages = pages;
	c->a[0] = M.tops[t];
	c->a[1] = va;
	c->a[2] = pages;
	c->stale_or = rewrite_run(t, va, end, WIN, WIN + WPAGES * 0x1000, how, 0) |
		      rewrite_run(t, va, end, WIN2 - 8 * 0x1000, WIN2 + WPAGES * 0x1000, how, 0) |
		      rewrite_run(t, va, end, KBASE, KBASE + KPAGES * 0x1000, how, 1) |
		      rewrite_run(t, va, end, IDS, IDS + NIDS * 0x1000, how, 2);
}

/* ---- PROTECT_RANGE ------------------------------------------------------------ */

/*
 * The tops a protect of leaf table L's entries through top t leaves with
 * W in their shadows (kind as for rewrite_run).
 */
static u32 protect_stale(u32 t, umbra_pte_t *d, int kind)
{
	if (kind == 0)
		return left_stale(ADDR(*d), t);
	return kind == 2 ? ALL_TOPS & ~(1u << t) : 0;
}

/*
 * Has this run met entry i of leaf table `table` before? A table linked at
 * both window slots is met twice, and only the first pass changes it.
 */
#define SEEN_TABLES	8
static u32 seen_table[SEEN_TABLES], seen_bits[SEEN_TABLES][UMBRA_PT_ENTRIES / 32];
static unsigned nseen;

static int met_before(u32 table, unsigned i)
{
	unsigned k = 0;

	while (k < nseen && seen_table[k] != table)
		k++;
	if (k == nseen) {
		if (nseen == SEEN_TABLES)
			return 0;
		seen_table[nseen++] = table;
		__builtin_memset(seen_bits[k], 0, sizeof(seen_bits[k]));
	}
	if (seen_bits[k][i / 32] & (1u << (i % 32)))
		return 1;
	seen_bits[k][i / 32] |= 1u << (i % 32);
	return 0;
}

/*
 * PROTECT_RANGE: the hypervisor takes W from every present writable leaf
 * entry of a run of pages in top t and sets software bits there, and
 * returns how many. Only runs the fuzzer can do without: the window slots
 * (all of their leaf tables, which self-map writes reach), the kernel
 * window, the remappable identity pages, and long runs over nothing. In a
 * batch, calls generated later may still store into the run before this
 * one runs (SET_PTE does not ask), so the count is not checked there; the
 * run and the entries above it become dependencies all the same.
 */
static void gen_protect_range(struct call *c)
{
	static const u32 starts[] = { 0x90000000u, WIN, KBASE };
	u32 t = pick_top(), top = M.tops[t], va, pages, n = 0, stale = 0;
	u32 set = chance(50) ? rnd() & AVAIL : 0, most = batch_open ? 64 : UMBRA_RANGE_MAX;
	int kind = 0;
	u64 end;

	call_init_pt(c, UMBRA_HC_PROTECT_RANGE, "protect_range");
	switch (rn(6)) {
	case 0:
	case 1:
		va = (chance(70) ? WIN : WIN2) + 0x1000 * rn(WPAGES);
		pages = 1 + rn(chance(70) ? 8 : WPAGES);
		break;
	case 2:
		va = WIN2 - 0x1000 * (1 + rn(8));
		pages = (WIN2 - va) / 0x1000 + 1 + rn(WPAGES);
		break;
	case 3:
		va = KBASE + 0x1000 * rn(KPAGES);
		pages = 1 + rn(KPAGES);
		break;
	case 4:
		va = IDS + 0x1000 * rn(NIDS);
		pages = 1 + rn((IDS + NIDS * 0x1000 - va) / 0x1000);
		break;
	default:
		va = PICK(starts);
		pages = 1 + rn(most);
		if (chance(30)) {
			pages = 1 + rn(chance(50) ? 16 : most);
			va = SWBASE - pages * 0x1000;
		}
		break;
	}
	end = (u64)va + (u64)pages * 0x1000;
	nseen = 0;
	for (u64 p = va; p < end;) {
		umbra_pte_t *d = dir_slot(top, (u32)p), *l = leaf_slot(top, (u32)p);

#if UMBRA_PAE
		batch_dep_add(top + 8 * (u32)(p >> 30));
#endif
		if (d)
			batch_dep_add((u32)(uintptr_t)d);
		if (!l) {
			p = (p & ~(u64)(DIRSPAN - 1)) + DIRSPAN;
			continue;
		}
		kind = p >= KBASE ? 1 : p >= IDS && p < IDS + NIDS * 0x1000 ? 2 : 0;
		if (batch_open)
			stale |= protect_stale(t, d, kind);
		batch_dep_add((u32)(uintptr_t)l);
		if ((*l & (UMBRA_PTE_P | UMBRA_PTE_W)) == (UMBRA_PTE_P | UMBRA_PTE_W) &&
		    !met_before(ADDR(*d), ((u32)p >> 12) & (UMBRA_PT_ENTRIES - 1))) {
			n++;
			stale |= protect_stale(t, d, kind);
		}
		p += 0x1000;
	}
	fz_range_va = va;
	fz_range_pages = pages;
	c->a[0] = top;
	c->a[1] = va;
	c->a[2] = pages;
	c->a[3] = set;
	c->expect = (int32_t)n;
	c->any_result = batch_open;
	c->stale_or = stale;
}

void gen_pt_call(struct call *c)
{
	unsigned r = rn(100);

	if (r < 27)
		gen_win_pte(c);
	else if (r < 38)
		gen_kernel_pte(c);
	else if (r < 42)
		gen_ids_pte(c);
	else if (r < 49)
		gen_einval_pte(c);
	else if (r < 64)
		gen_dir(c);
	else if (r < 69)
		gen_pgd(c);
	else if (r < 80)
		gen_silent(c);
	else if (r < 88)
		gen_update_range(c);
	else if (r < 94)
		gen_protect_range(c);
	else {
#if UMBRA_PAE
		gen_dir(c);
#else
		/* SET_PMD does not exist with 2-level paging: EINVAL whatever the arguments. */
		call_init_pt(c, UMBRA_HC_SET_PMD, "set_pmd 2-level");
		c->a[0] = boundary32(), c->a[1] = boundary32();
		c->a[2] = boundary32(), c->a[3] = boundary32();
		c->expect = UMBRA_EINVAL;
#endif
	}
}

void apply_pt_call(const struct call *c)
{
	(void)c;
}

/* Before relying on the current top's mappings: flush if it may lag its tables. */
void ensure_fresh(void)
{
	struct call c;

	if (!(M.stale & (1u << M.cur)))
		return;
	call_init_pt(&c, UMBRA_HC_FLUSH_TLB, "flush stale");
	c.a[0] = chance(80) ? UMBRA_FLUSH_USER : UMBRA_FLUSH_ALL;
	c.stale_and = c.a[0] == UMBRA_FLUSH_ALL ? 0 : ~(1u << 31);
	do_hcall(&c);
}

