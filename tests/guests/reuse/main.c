/*
 * Table lifetime: a kernel frees a process's page directory and gets the
 * same page back for the next process. The shadow umbra built from the
 * old table is cached by that address, so the kernel must say the table
 * is gone (UMBRA_HC_RELEASE_PGTABLE) before it reuses the page.
 *
 * release=1: the guest releases the table, builds a new one at the same
 * address mapping VA elsewhere, and must see the new page there.
 * release=0: it does not; run with audit=1 on the hypervisor's command
 * line, umbra must kill it at the switch, naming the table and the cause.
 */
#include <umbra/kernel.h>
#include <umbra/paging.h>

#define POOL		0x00800000u
#define POOL_END	0x00c00000u
#define VA		0x40000000u
#define OLD_PAGE	0x00500000u
#define NEW_PAGE	0x00501000u

static uint32_t mem;

/* A table mapping guest memory at its own addresses, and VA to `page`. */
static void fill(uint32_t top, uint32_t page)
{
	umbra_batch_begin();
	for (uint32_t va = UMBRA_PAGE; va < mem; va += UMBRA_PAGE)
		umbra_map(top, va, va, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A | UMBRA_PTE_D);
	umbra_map(top, VA, page, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A);
	umbra_batch_end();
}

int guest_main(const struct umbra_boot_info *bi)
{
	uint32_t release = umbra_arg_u32(bi, "release", 1), a, b;

	mem = bi->mem_bytes;
	umbra_shared_init(0, 0);
	*(volatile uint32_t *)OLD_PAGE = 0x01d01d01;
	*(volatile uint32_t *)NEW_PAGE = 0x0e30e30e;
	umbra_pt_pool(POOL, POOL_END);
	a = umbra_pt_new_top();
	b = umbra_pt_new_top();
	fill(a, OLD_PAGE);
	fill(b, OLD_PAGE);
	umbra_new_pgtable(a);
	umbra_check(*(volatile uint32_t *)VA == 0x01d01d01, "reuse: the first table maps the old page");
	umbra_new_pgtable(b);
	/* "Free" table a and build the next process's table in the same pages. */
	if (release)
		umbra_check(umbra_hcall(UMBRA_HC_RELEASE_PGTABLE, a, 0, 0, 0) == 0,
			    "reuse: release_pgtable of a table not in use succeeds");
	umbra_check(umbra_hcall(UMBRA_HC_RELEASE_PGTABLE, b, 0, 0, 0) == UMBRA_EINVAL,
		    "reuse: release_pgtable of the table in use is refused");
	umbra_pte_t *slot = umbra_pte_slot(a, VA);
	*slot = NEW_PAGE | UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A;	/* as a new process's table */
	umbra_new_pgtable(a);
	umbra_check(*(volatile uint32_t *)VA == 0x0e30e30e,
		    "reuse: a table released and reused maps its new page");
	return 0;
}
