/*
 * Code that runs before the kernel's own page table is loaded, at its
 * physical address: .boot sections, linked low (kernel.ld). It reaches the
 * kernel's variables through LOW() and must call nothing outside .boot.
 */
#ifndef PENUMBRA_BOOT_H
#define PENUMBRA_BOOT_H

#include <stdint.h>
#include <umbra/abi.h>
#include "machine.h"

#define BOOT		__attribute__((section(".boot.text")))
#define LOW(p)		((__typeof__(p))((uintptr_t)(p) - KBASE))

/* Physical memory the direct map covers at most (KBASE + 512 MiB). */
#define BOOT_MEM_MAX	0x20000000u

extern struct boot_params boot_params;
extern char _end[];

/* Build the boot page table; fills boot_params (through LOW). */
void boot_page_table(uint32_t mem_end) BOOT;

#endif
