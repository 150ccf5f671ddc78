/* The part of the Multiboot information this kernel reads. */
#ifndef PENUMBRA_MULTIBOOT_H
#define PENUMBRA_MULTIBOOT_H

#include <stdint.h>

#define MB_INFO_MEM	0x001u
#define MB_INFO_CMDLINE	0x004u

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;	/* KiB below 1 MiB, KiB above 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;		/* physical address of a C string */
};

#endif
