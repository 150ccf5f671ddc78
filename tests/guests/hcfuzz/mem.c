/*
 * The fuzzer's own page tables and what it does to them.
 *
 * NTOPS top-level tables share the identity map of guest memory (leaf
 * tables linked into every top, supervisor-only except the user pages) and
 * the kernel window at KBASE. Each has its own leaf table for the window
 * WIN; WIN2 and the self-map slot start empty, and NLT spare leaf tables
 * can be linked anywhere in the window slots.
 *
 * The model of every mapping is the tables themselves: a software walk of
 * the current top predicts each access, as long as every change was either
 * announced (SET_PTE/SET_PMD/SET_PGD) or flushed. Where a change reaches a
 * cached shadow that was not told (a leaf table shared by tops, a silent
 * write, a directory entry seen through a self-map), that top is marked
 * stale and gets a FLUSH_USER before its mappings are next relied on.
 */
#include "fz.h"

#define LEVELS		UMBRA_PT_LEVELS
#define ADDR(e)		((u32)((e) & 0xfffff000u))
#define TABLE_FLAGS	(UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_U | UMBRA_PTE_A)
#define PWT		0x8u
#define PCD		0x10u
#define PTE_G		0x100u
#define AVAIL		0xe00u

int in_batch(void);
void batch_dep_add(u32 addr);
int batch_dep_free(u32 addr);
int do_hcall(const struct call *c);
void check_flags(const char *name, u32 loaded, u32 got, int hcall);
int check_trap(const char *name, unsigned i, const struct xtrap *x);
void xtrap_for(struct xtrap *x, unsigned v, int ring, u32 flags, u32 eip, u32 esp, int direct);
void expect_segs(const char *name, const u32 *want, const u32 *got);
void check_db_traps(const char *name, u32 loaded, int ring);
u32 sel_check(u32 sel, int cpl);
u32 after_iret3(u32 sel);
u32 random_sel(int cpl);

#if UMBRA_PAE
static u32 pd_of[NTOPS][4];	/* the four directories of each top */
#endif
extern char _end[];

static umbra_pte_t *ent(u32 table, unsigned i)
{
	return (umbra_pte_t *)(uintptr_t)table + i;
}

u32 cur_top(void)
{
	return M.tops[M.cur];
}

/* The directory entry for va in top (PAE: NULL if its PDPT entry is absent). */
umbra_pte_t *dir_slot(u32 top, u32 va)
{
#if UMBRA_PAE
	umbra_pte_t e = *ent(top, va >> 30);

	if (!(e & UMBRA_PTE_P))
		return 0;
	return ent(ADDR(e), (va >> 21) & 511);
#else
	return ent(top, va >> 22);
#endif
}

umbra_pte_t *leaf_slot(u32 top, u32 va)
{
	umbra_pte_t *d = dir_slot(top, va);

	if (!d || !(*d & UMBRA_PTE_P))
		return 0;
	return ent(ADDR(*d), (va >> 12) & (UMBRA_PT_ENTRIES - 1));
}

/* The walk as the hypervisor and the CPU do it: levels present, W and U of all. */
int walk(u32 top, u32 va, u32 *pa, int *w, int *u)
{
	umbra_pte_t *d, *l;
	int lv = LEVELS - 2;

#if UMBRA_PAE
	if (!(*ent(top, va >> 30) & UMBRA_PTE_P))
		return 0;
#endif
	d = dir_slot(top, va);
	if (!(*d & UMBRA_PTE_P))
		return lv;
	l = ent(ADDR(*d), (va >> 12) & (UMBRA_PT_ENTRIES - 1));
	if (!(*l & UMBRA_PTE_P))
		return lv + 1;
	*w = (*d & *l & UMBRA_PTE_W) != 0;
	*u = (*d & *l & UMBRA_PTE_U) != 0;
	*pa = ADDR(*l) | (va & 0xfff);
	return LEVELS;
}

/* Is [va, va+len) readable by ring 1 in the current top? */
int va_readable(u32 va, u32 len)
{
	for (u32 p = va & ~0xfffu; p < va + len; p += 0x1000) {
		u32 pa;
		int w, u;

		if (walk(cur_top(), p, &pa, &w, &u) != LEVELS)
			return 0;
	}
	return 1;
}

u32 kstack_top(int which)
{
	return KSTK + 0x2000 * (u32)(1 + which);
}

static int is_user_page(u32 va)
{
	return (va >= (u32)(uintptr_t)fz_user_begin && va < (u32)(uintptr_t)fz_user_end) ||
	       (va >= USTK && va < USTK + 0x2000) || va == UCODE;
}

/* ---- entries ------------------------------------------------------------ */

/* A leaf entry: present (a data frame, writable or not, or a frame only ever read), or not. */
static umbra_pte_t gen_pte(void)
{
	u32 frame, flags;
	int writable = 1;

	if (chance(12)) {
		umbra_pte_t junk = boundary32() & ~1u;
#if UMBRA_PAE
		junk |= (u64)boundary32() << 32;
#endif
		return junk;
	}
	switch (rn(10)) {
	case 0:
		frame = IDS + 0x1000 * rn(NIDS);
		break;
	case 1: case 2: case 3: {
		static u32 ro[6];

		ro[0] = 0;
		ro[1] = M.mem - 0x1000;
		ro[2] = ZPAGE;
		ro[3] = M.winleaf[rn(NTOPS)];
		ro[4] = M.lt[rn(NLT)];
		ro[5] = 0x100000;
		frame = PICK(ro);
		writable = 0;
		break;
	}
	default:
		frame = DFR + 0x1000 * rn(NDFR);
		break;
	}
	flags = UMBRA_PTE_P | (rnd() & (UMBRA_PTE_U | PWT | PCD | UMBRA_PTE_A | UMBRA_PTE_D |
					 PTE_G | AVAIL));
	if (writable && chance(60))
		flags |= UMBRA_PTE_W;
	return frame | flags;
}

static umbra_pte_t dir_flags(void)
{
	return UMBRA_PTE_P | (rnd() & (UMBRA_PTE_W | UMBRA_PTE_U | UMBRA_PTE_A | PWT | PCD | AVAIL)) |
	       (chance(70) ? UMBRA_PTE_W | UMBRA_PTE_U | UMBRA_PTE_A : 0);
}

/* Top i's self-map slot: the directory that holds SELFVA's entry. */
static u32 self_dir(u32 i)
{
#if UMBRA_PAE
	return pd_of[i][1];
#else
	return M.tops[i];
#endif
}

static int has_self(u32 i)
{
	umbra_pte_t *d = dir_slot(M.tops[i], SELFVA);

	return d && (*d & UMBRA_PTE_P) && ADDR(*d) == self_dir(i);
}

/* Tops whose WIN/WIN2 slots link leaf table L. */
static u32 tops_linking(u32 L)
{
	u32 mask = 0;

	for (u32 j = 0; j < NTOPS; j++) {
		umbra_pte_t *a = dir_slot(M.tops[j], WIN), *b = dir_slot(M.tops[j], WIN2);

		if ((a && (*a & UMBRA_PTE_P) && ADDR(*a) == L) || (b && (*b & UMBRA_PTE_P) && ADDR(*b) == L))
			mask |= 1u << j;
	}
	return mask;
}

#define ALL_TOPS	((1u << NTOPS) - 1)

u32 tops_linking_leaf(u32 leaf);
int is_fuzz_leaf(u32 pa);
umbra_pte_t gen_leaf_value(void);

u32 tops_linking_leaf(u32 leaf)
{
	return tops_linking(leaf);
}

umbra_pte_t gen_leaf_value(void)
{
	return gen_pte();
}

/* A leaf table the fuzzer may write entries into behind the hypervisor's back. */
int is_fuzz_leaf(u32 pa)
{
	pa &= ~0xfffu;
	for (u32 i = 0; i < NTOPS; i++)
		if (pa == M.winleaf[i])
			return 1;
	for (u32 k = 0; k < NLT; k++)
		if (pa == M.lt[k])
			return 1;
	return 0;
}

/* ---- setup -------------------------------------------------------------- */

void mem_setup(void)
{
	u32 mem = M.mem;
	u32 top0;

	if ((u32)(uintptr_t)_end > DFR)
		umbra_printf("hcfuzz: image too large (%p)\n", _end), umbra_shutdown(2);
	umbra_pt_pool(POOL, POOL_END);
	top0 = umbra_pt_new_top();
	umbra_batch_begin();
	for (u32 va = 0x1000; va < mem; va += 0x1000)
		umbra_map(top0, va, va, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A | UMBRA_PTE_D |
					(is_user_page(va) ? UMBRA_PTE_U : 0));
	for (u32 i = 0; i < KPAGES; i++)
		umbra_map(top0, KBASE + i * 0x1000, DFR + 0x1000 * rn(NDFR),
			  UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_U | UMBRA_PTE_A);
	umbra_batch_end();
	M.kleaf = ADDR(*dir_slot(top0, KBASE));
	for (u32 i = 0; i < 16 && i * DIRSPAN < mem; i++)
		M.idleaf[i] = ADDR(*dir_slot(top0, i * DIRSPAN));
	M.tops[0] = top0;
	for (u32 t = 1; t < NTOPS; t++) {
		u32 top = umbra_pt_new_top();

		for (u32 va = 0; va < mem; va += DIRSPAN)
			umbra_share_dir(top, top0, va);
		umbra_share_dir(top, top0, KBASE);
		M.tops[t] = top;
	}
	for (u32 t = 0; t < NTOPS; t++) {
#if UMBRA_PAE
		for (u32 i = 0; i < 4; i++)
			pd_of[t][i] = ADDR(*ent(M.tops[t], i));
#endif
		/* The window's own leaf table, with a few entries. */
		umbra_map(M.tops[t], WIN, DFR, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_U);
		M.winleaf[t] = ADDR(*dir_slot(M.tops[t], WIN));
		for (u32 i = 0; i < 8; i++) {
			umbra_pte_t v = gen_pte();

			*ent(M.winleaf[t], rn(WPAGES)) = v;
		}
	}
	for (u32 k = 0; k < NLT; k++)
		M.lt[k] = umbra_pt_page();
	M.cur = 0;
}

/* The ring-1 sandbox: image read-only, scratch writable, no page tables. */
u32 sandbox_setup(void)
{
	u32 top = umbra_pt_new_top();
	extern char fz_sbx_rw[];

	for (u32 va = 0x100000; va < (u32)(uintptr_t)_end; va += 0x1000)
		umbra_map(top, va, va, UMBRA_PTE_P | UMBRA_PTE_A |
			  (va == (u32)(uintptr_t)fz_sbx_rw ? UMBRA_PTE_W | UMBRA_PTE_D : 0) |
			  (is_user_page(va) ? UMBRA_PTE_U : 0));
	for (u32 va = KSTK; va < XSTK_TOP; va += 0x1000)
		umbra_map(top, va, va, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A | UMBRA_PTE_D);
	for (u32 va = USTK; va < UCODE + 0x1000; va += 0x1000)
		umbra_map(top, va, va, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_U | UMBRA_PTE_A | UMBRA_PTE_D);
	for (u32 va = SBX; va < SBX_CODE; va += 0x1000)
		umbra_map(top, va, va, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_U | UMBRA_PTE_A | UMBRA_PTE_D);
	umbra_map(top, SBX_CODE, SBX_CODE, UMBRA_PTE_P | UMBRA_PTE_A);
	umbra_share_dir(top, M.tops[0], KBASE);
	return top;
}

/* ---- page-table calls ----------------------------------------------------- */

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
	c->stale_or = tops_linking(ADDR(*d)) & ~(1u << t);
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
	if (va == SELFVA)
		return (fz_skip & SKIP_SELF) ? 0 : self_dir(t) | dir_flags();
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
			c->stale_or = others & ~(1u << t);
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

void gen_pt_call(struct call *c)
{
	unsigned r = rn(100);

	if (r < 30)
		gen_win_pte(c);
	else if (r < 43)
		gen_kernel_pte(c);
	else if (r < 47)
		gen_ids_pte(c);
	else if (r < 55)
		gen_einval_pte(c);
	else if (r < 72)
		gen_dir(c);
	else if (r < 77)
		gen_pgd(c);
	else if (r < 92)
		gen_silent(c);
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

