/*
 * A guest's registers as the Switcher saves them: lowest address first,
 * the segment registers and general registers it pushes, the vector and
 * error code the stub pushes, then what the CPU pushes on a trap from ring
 * 1 or 3 (always with a stack switch, so always with esp and ss).
 */
#ifndef UMBRA_ARCH_REGS_H
#define UMBRA_ARCH_REGS_H

#include "../../lib/types.h"
#include "switcher_layout.h"

struct guest_regs {
	u32 gs, fs, es, ds;
	u32 edi, esi, ebp, esp_dummy, ebx, edx, ecx, eax;	/* pushad */
	u32 trapnum, errcode;
	u32 eip, cs, eflags, esp, ss;
};

_Static_assert(sizeof(struct guest_regs) == REGS_SIZE, "switcher_layout.h REGS_SIZE");

#endif
