/*
 * A table that maps itself. Kernels map their page directory into itself
 * to reach their page tables through virtual addresses; then the directory
 * is also a leaf table, and the accessed and dirty bits that umbra sets in
 * "leaf" entries land in directory entries (2-level) or, with PAE, in the
 * page-directory-pointer entries. The CPU ignores D in an entry that
 * links a table, and umbra never hands a guest's PDPTEs to the CPU, so
 * the guest must go on running: what umbra wrote, it may not punish.
 */
#include <umbra/kernel.h>
#include <umbra/paging.h>

#define POOL		0x00800000u
#define POOL_END	0x00c00000u
#define SELF		0x80000000u	/* where the table maps itself */

static uint32_t top;

static void build_space(uint32_t mem)
{
	umbra_pt_pool(POOL, POOL_END);
	top = umbra_pt_new_top();
	umbra_batch_begin();
	for (uint32_t va = UMBRA_PAGE; va < mem; va += UMBRA_PAGE)
		umbra_map(top, va, va, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A | UMBRA_PTE_D);
	umbra_batch_end();
	umbra_new_pgtable(top);
}

#if UMBRA_PAE
/*
 * The PDPT as a leaf table: the directory entry for SELF links the PDPT's
 * page, so SELF + i pages maps what PDPTE i points at, and a touch there
 * sets A (a write D) in PDPTE i itself.
 */
static volatile umbra_pte_t *self_entry(unsigned i)
{
	return (volatile umbra_pte_t *)(uintptr_t)(top + i * 8);
}

static void link_self(void)
{
	umbra_set_pmd(top, SELF, (top & ~0xfffu) | UMBRA_TABLE);
}

static uint32_t self_va(unsigned i)
{
	return SELF + i * UMBRA_PAGE;	/* PDPT entries sit at the page's start */
}
#else
/* The directory as a leaf table for SELF: SELF + i pages maps what PDE i links. */
#define SELF_INDEX	(SELF >> 22)

static volatile umbra_pte_t *self_entry(unsigned i)
{
	return (volatile umbra_pte_t *)(uintptr_t)(top + i * 4);
}

static void link_self(void)
{
	umbra_set_pgd(top, SELF_INDEX, top | UMBRA_TABLE);
}

static uint32_t self_va(unsigned i)
{
	return SELF + i * UMBRA_PAGE;
}
#endif

int guest_main(const struct umbra_boot_info *bi)
{
	volatile uint32_t *first;

	umbra_shared_init(0, 0);
	build_space(bi->mem_bytes);
	link_self();
	first = (volatile uint32_t *)(uintptr_t)self_va(0);
	(void)first[1];				/* sets A in entry 0 */
#if UMBRA_PAE
	/* A PDPT entry has no W bit: through it the page is read-only, and only A is set. */
	umbra_check(*self_entry(0) & UMBRA_PTE_A,
		    "selfmap: a touch through the self-map marked the entry it went through");
#else
	first[1] = first[1];			/* and D */
	umbra_check((*self_entry(0) & (UMBRA_PTE_A | UMBRA_PTE_D)) == (UMBRA_PTE_A | UMBRA_PTE_D),
		    "selfmap: a touch through the self-map marked the entry it went through");
#endif
	umbra_flush(UMBRA_FLUSH_ALL, 0);
	/* Walks through the entry umbra marked, from the kernel's own code and data. */
	(void)*(volatile uint32_t *)(uintptr_t)0x00100000u;
	(void)first[1];
	umbra_check(umbra_new_pgtable(top) == 0, "selfmap: the table is still accepted after the marks");
	umbra_pass("selfmap: the guest runs on after umbra marked its table entries");
	return 0;
}
