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


#if UMBRA_PAE
u32 pd_of[NTOPS][4];	/* the four directories of each top */
#endif
extern char _end[];

umbra_pte_t *ent(u32 table, unsigned i)
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
umbra_pte_t gen_pte(void)
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

umbra_pte_t dir_flags(void)
{
	return UMBRA_PTE_P | (rnd() & (UMBRA_PTE_W | UMBRA_PTE_U | UMBRA_PTE_A | PWT | PCD | AVAIL)) |
	       (chance(70) ? UMBRA_PTE_W | UMBRA_PTE_U | UMBRA_PTE_A : 0);
}

/* Top i's self-map slot: the directory that holds SELFVA's entry. */
u32 self_dir(u32 i)
{
#if UMBRA_PAE
	return pd_of[i][1];
#else
	return M.tops[i];
#endif
}

int has_self(u32 i)
{
	umbra_pte_t *d = dir_slot(M.tops[i], SELFVA);

	return d && (*d & UMBRA_PTE_P) && ADDR(*d) == self_dir(i);
}

/* Tops whose WIN/WIN2 slots link leaf table L. */
u32 tops_linking(u32 L)
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
