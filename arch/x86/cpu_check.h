/* Refuse a CPU that lacks what umbra uses, before any code that needs it runs. */
#ifndef UMBRA_ARCH_CPU_CHECK_H
#define UMBRA_ARCH_CPU_CHECK_H

#include "../../lib/types.h"

struct mb_info;

/*
 * Called from _start with the bootloader's eax and ebx, before the first
 * rdtsc and before any code built for the i686. Returns if the CPU has
 * CPUID, CMOV, TSC, FXSR and the paging feature of this build (PSE for
 * 2-level, PAE for PAE). Otherwise it prints one line naming everything
 * missing, on COM1 and the VGA screen, and ends the run: QEMU's debug-exit
 * status 37 (unless exit=halt), or a halt.
 */
void cpu_check(u32 magic, const struct mb_info *mbi);

#endif
