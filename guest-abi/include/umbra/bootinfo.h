/*
 * What a guest finds when it starts.
 *
 * The guest enters at its ELF entry point in ring 1 with
 *   eax = UMBRA_BOOT_MAGIC
 *   ebx = address of a struct umbra_boot_info (inside the guest's memory)
 *   cs  = UMBRA_KERNEL_CS, ds = es = fs = gs = ss = UMBRA_KERNEL_DS
 *   esp = top of the guest's memory, eflags.IF = 1
 * and runs on a linear mapping: every guest-virtual address below
 * mem_bytes maps the same guest-physical address, except page 0, which is
 * left unmapped so that a null pointer faults.
 */
#ifndef UMBRA_BOOTINFO_H
#define UMBRA_BOOTINFO_H

#include <stdint.h>

#define UMBRA_BOOT_MAGIC	0x756d6272u	/* "umbr" */
#define UMBRA_BOOT_INFO_ADDR	0x1000u		/* guest-physical page 1 */
#define UMBRA_NAME_MAX		32
#define UMBRA_CMDLINE_MAX	256

struct umbra_boot_info {
	uint32_t magic;		/* UMBRA_BOOT_MAGIC */
	uint32_t abi_version;	/* UMBRA_ABI_VERSION of the hypervisor */
	uint32_t mem_bytes;	/* guest-physical memory is [0, mem_bytes) */
	uint32_t guest_id;	/* small integer, unique while the guest lives */
	uint32_t paging;	/* UMBRA_PAGING_2LEVEL or UMBRA_PAGING_PAE */
	char name[UMBRA_NAME_MAX];	  /* the module's name= */
	char cmdline[UMBRA_CMDLINE_MAX];  /* the module's whole command line */
};

#endif
