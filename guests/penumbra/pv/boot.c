/*
 * Before the high kernel can run: register the shared page (declaring the
 * kernel region and the system-call vector), build the boot page table and
 * switch to it, which ends umbra's linear mapping.
 */
#include <umbra/bootinfo.h>
#include <umbra/hypercall.h>
#include <umbra/shared.h>
#include "../boot.h"

extern struct umbra_shared pv_shared;

static BOOT long boot_hcall(uint32_t nr, uint32_t a1)
{
	long ret;

	__asm__ volatile("int $0x82" : "=a"(ret) : "a"(nr), "b"(a1) : "memory");
	return ret;
}

void pv_boot(const struct umbra_boot_info *bi) BOOT;

void pv_boot(const struct umbra_boot_info *bi)
{
	struct umbra_shared *sh = LOW(&pv_shared);

	boot_page_table(bi->mem_bytes);
	sh->kernel_base = KBASE;
	sh->syscall_vector = PN_SYSCALL_VECTOR;
	boot_hcall(UMBRA_HC_SET_SHARED, V2P(&pv_shared));
	boot_hcall(UMBRA_HC_NEW_PGTABLE, LOW(&boot_params)->kernel_top);
}
