/* Before the high kernel can run: build the boot page table and turn paging on. */
#include "../boot.h"
#include "multiboot.h"
#include "x86.h"

void native_boot(const struct multiboot_info *mbi) BOOT;

/* The loader may have put the command line where the page tables will go. */
static char cmdline[256];

static BOOT void save_cmdline(const struct multiboot_info *mbi)
{
	const char *from = (const char *)(mbi->flags & MB_INFO_CMDLINE ? mbi->cmdline : 0);
	char *to = LOW(&cmdline[0]);

	for (unsigned i = 0; from && i < sizeof(cmdline) - 1 && from[i]; i++)
		to[i] = from[i];
	LOW(&boot_params)->cmdline = cmdline;
}

void native_boot(const struct multiboot_info *mbi)
{
	uint32_t mem_end = mbi->flags & MB_INFO_MEM ? (mbi->mem_upper + 1024) * 1024 : 0x2000000;
	uint32_t cr0;

	save_cmdline(mbi);
	boot_page_table(mem_end);
	if (LOW(PT)->paging == UMBRA_PAGING_PAE)
		write_cr4(read_cr4() | CR4_PAE);
	write_cr3(LOW(&boot_params)->kernel_top);
	cr0 = read_cr0() | CR0_PG | CR0_WP;
	__asm__ volatile("mov %0, %%cr0; jmp 1f; 1:" : : "r"(cr0) : "memory");
}
