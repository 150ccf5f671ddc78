/* Turning the Multiboot memory map into the frame allocator. */
#ifndef UMBRA_MM_BOOT_MEM_H
#define UMBRA_MM_BOOT_MEM_H

#include "../boot/multiboot.h"

/*
 * Build the frame allocator from the bootloader's memory map, reserving the
 * low 1 MiB, the hypervisor image, the Multiboot information and every
 * module. Returns the end of usable RAM (what the hypervisor maps), or 0
 * if the bootloader gave no usable memory description.
 */
paddr_t boot_mem_init(const struct mb_info *mbi);

#endif
