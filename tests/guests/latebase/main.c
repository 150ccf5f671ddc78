/*
 * kernel_base registered late: a kernel that turns on its own paging first
 * and registers the shared page (with its kernel address) afterwards, from
 * C, must go on running, and from then on a kernel mapping changed in one
 * table is seen in every table. A second, different kernel address is
 * still refused (what=change).
 */
#include <umbra/kernel.h>
#include <umbra/paging.h>

#define POOL		0x00800000u
#define POOL_END	0x00c00000u
#define KERNEL		0x40000000u
#define PAGE_A		0x00500000u
#define PAGE_B		0x00501000u

static uint32_t mem;

static uint32_t table(void)
{
	uint32_t top = umbra_pt_new_top();

	umbra_batch_begin();
	for (uint32_t va = UMBRA_PAGE; va < mem; va += UMBRA_PAGE)
		umbra_map(top, va, va, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A | UMBRA_PTE_D);
	umbra_batch_end();
	return top;
}

int guest_main(const struct umbra_boot_info *bi)
{
	char what[16];
	uint32_t a, b;

	if (!umbra_arg(bi, "what", what, sizeof(what)))
		what[0] = '\0';
	mem = bi->mem_bytes;
	*(volatile uint32_t *)PAGE_A = 0xaaaa;
	*(volatile uint32_t *)PAGE_B = 0xbbbb;
	umbra_pt_pool(POOL, POOL_END);
	a = table();
	b = table();
	umbra_map(a, KERNEL, PAGE_A, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A);
	umbra_share_dir(b, a, KERNEL);
	umbra_new_pgtable(a);
	(void)*(volatile uint32_t *)KERNEL;		/* shadowed before the kernel address is known */
	umbra_check(umbra_shared_init(KERNEL, 0) == 0,
		    "latebase: the first kernel address is taken after page tables are in use");
	umbra_check(*(volatile uint32_t *)KERNEL == 0xaaaa, "latebase: the kernel mapping still reads");
	umbra_new_pgtable(b);
	umbra_map(b, KERNEL, PAGE_B, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A);	/* in b, shared */
	umbra_new_pgtable(a);
	umbra_check(*(volatile uint32_t *)KERNEL == 0xbbbb,
		    "latebase: a kernel mapping changed in one table is seen in the other");
	if (what[0] == 'c') {
		umbra_shared.kernel_base = KERNEL + 0x10000000u;
		umbra_hcall(UMBRA_HC_SET_SHARED, (uint32_t)(uintptr_t)&umbra_shared, 0, 0, 0);
		umbra_fail("latebase", "a second kernel address was taken");
		return 1;
	}
	return 0;
}
