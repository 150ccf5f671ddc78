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

/*
 * True if [start, start+len) is memory the firmware may keep tables in and
 * that reads as memory: the low 1 MiB (BIOS data, EBDA, ROM), or inside one
 * region the memory map lists as RAM, reserved, ACPI data or ACPI NVS.
 * Device memory lies outside every listed region, so a stray pointer into
 * it is refused before anything reads there.
 */
bool boot_mem_firmware_range(const struct mb_info *mbi, u64 start, u64 len);

#endif
