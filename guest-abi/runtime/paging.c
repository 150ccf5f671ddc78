/*
 * The guest runtime's page-table library (paging.h): tables allocated from
 * a pool of guest pages mapped at their own addresses, entries written in
 * guest memory and announced to the hypervisor with set_pte, one
 * hypercall each or batched into multicalls of up to 1,024. UMBRA_PAE
 * selects the few helpers that differ by format (a new top level, the
 * directory for an address, linking a leaf table); the rest is shared.
 */
#include <umbra/paging.h>

static uint32_t pool_next, pool_end;

void umbra_pt_pool(uint32_t start, uint32_t end)
{
	pool_next = (start + UMBRA_PAGE - 1) & ~(UMBRA_PAGE - 1);
	pool_end = end;
}

uint32_t umbra_pt_page(void)
{
	uint32_t p = pool_next;

	if (p + UMBRA_PAGE > pool_end)
		return 0;
	pool_next += UMBRA_PAGE;
	for (uint32_t *w = (uint32_t *)p; w < (uint32_t *)(p + UMBRA_PAGE); w++)
		*w = 0;
	return p;
}

static umbra_pte_t *entries(uint32_t table)
{
	return (umbra_pte_t *)(uintptr_t)table;
}

/*
 * The table that holds va's directory entry: the top level itself with
 * 2-level paging, the directory its top-level entry links with PAE.
 */
static uint32_t dir_of(uint32_t top, uint32_t va)
{
	if (UMBRA_PT_LEVELS == 2)
		return top;
	return (uint32_t)(entries(top)[va >> 30] & ~0xfffull);
}

/* A new top level; with PAE, its four directories made and linked too. */
uint32_t umbra_pt_new_top(void)
{
	uint32_t top = umbra_pt_page();

	for (uint32_t i = 0; UMBRA_PT_LEVELS == 3 && top && i < UMBRA_PT_TOP_ENTRIES; i++) {
		uint32_t dir = umbra_pt_page();

		if (!dir)
			return 0;
		entries(top)[i] = dir | UMBRA_PTE_P;
		umbra_set_pgd(top, i, entries(top)[i]);
	}
	return top;
}

/* Write va's directory entry and announce it: SET_PMD with PAE, SET_PGD without. */
static long link_leaf(uint32_t top, uint32_t va, umbra_pte_t v)
{
	entries(dir_of(top, va))[(va >> UMBRA_PT_DIR_SHIFT) % UMBRA_PT_ENTRIES] = v;
	if (UMBRA_PT_LEVELS == 3)
		return umbra_set_pmd(top, va, v);
	return umbra_set_pgd(top, va >> UMBRA_PT_DIR_SHIFT, v);
}

static unsigned dir_index(uint32_t va)
{
	return (va >> UMBRA_PT_DIR_SHIFT) % UMBRA_PT_ENTRIES;
}

static unsigned leaf_index(uint32_t va)
{
	return (va >> 12) % UMBRA_PT_ENTRIES;
}

/* The leaf table for va, made and linked if missing (0 if out of pages). */
static uint32_t leaf_of(uint32_t top, uint32_t va, int create)
{
	umbra_pte_t d = entries(dir_of(top, va))[dir_index(va)];
	uint32_t leaf;

	if (d & UMBRA_PTE_P)
		return (uint32_t)(d & ~0xfffull);
	if (!create || !(leaf = umbra_pt_page()))
		return 0;
	return link_leaf(top, va, leaf | UMBRA_TABLE) < 0 ? 0 : leaf;
}

long umbra_share_dir(uint32_t top, uint32_t from, uint32_t va)
{
	umbra_pte_t d = entries(dir_of(from, va))[dir_index(va)];

	return link_leaf(top, va, d);
}

/* While a batch is open, announcements gather here. */
#define BATCH_MAX	1024
static struct umbra_multicall batch[BATCH_MAX];
static uint32_t batch_len, batch_sent;
static int batching;

void umbra_batch_begin(void)
{
	batching = 1;
	batch_len = 0;
	batch_sent = 0;
}

/* Send what is queued; the count sent so far, or the first error. */
static long batch_send(void)
{
	long r = batch_len ? umbra_multicall(batch, batch_len) : 0;

	for (uint32_t i = 0; r >= 0 && i < batch_len; i++)
		if (batch[i].result < 0)
			r = batch[i].result;
	batch_sent += batch_len;
	batch_len = 0;
	return r < 0 ? r : (long)batch_sent;
}

long umbra_batch_end(void)
{
	long r = batch_send();

	batching = 0;
	return r;
}

static long announce(uint32_t top, uint32_t va, umbra_pte_t v)
{
	struct umbra_multicall *c;

	if (!batching)
		return umbra_set_pte(top, va, v);
	if (batch_len == BATCH_MAX) {
		long r = batch_send();

		if (r < 0)
			return r;
	}
	c = &batch[batch_len++];
	c->op = UMBRA_HC_SET_PTE;
	c->args[0] = top;
	c->args[1] = va;
	c->args[2] = (uint32_t)v;
	c->args[3] = (uint32_t)((uint64_t)v >> 32);
	c->result = 0;
	return 0;
}

long umbra_map(uint32_t top, uint32_t va, uint32_t pa, uint32_t flags)
{
	uint32_t leaf = leaf_of(top, va, 1);
	umbra_pte_t v = (pa & ~0xfffu) | flags;

	if (!leaf)
		return UMBRA_ENOMEM;
	entries(leaf)[leaf_index(va)] = v;
	return announce(top, va, v);
}

long umbra_unmap(uint32_t top, uint32_t va)
{
	uint32_t leaf = leaf_of(top, va, 0);

	if (!leaf)
		return 0;
	entries(leaf)[leaf_index(va)] = 0;
	return announce(top, va, 0);
}

umbra_pte_t *umbra_pte_slot(uint32_t top, uint32_t va)
{
	uint32_t leaf = leaf_of(top, va, 0);

	return leaf ? &entries(leaf)[leaf_index(va)] : 0;
}

umbra_pte_t umbra_pte(uint32_t top, uint32_t va)
{
	umbra_pte_t *e = umbra_pte_slot(top, va);

	return e ? *e : 0;
}
