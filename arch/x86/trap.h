/* Traps and interrupts taken while the hypervisor itself runs. */
#ifndef UMBRA_ARCH_TRAP_H
#define UMBRA_ARCH_TRAP_H

#include "../../lib/types.h"
#include "switcher_layout.h"

/* What entry.asm pushes for a trap from ring 0 (no stack switch). */
struct host_frame {
	u32 edi, esi, ebp, esp_dummy, ebx, edx, ecx, eax;
	u32 trapnum, errcode;
	u32 eip, cs, eflags;
};

extern char host_trap_stub_table[];
#define host_trap_stubs ((u32)(uintptr_t)host_trap_stub_table)

void host_trap(struct host_frame *f);

/* NMIs taken before the Switcher's IDT is loaded (it counts the later ones). */
extern u32 host_nmis;

/* Called for hardware interrupts that arrive while the hypervisor runs. */
void irq_dispatch(unsigned vector);

#endif
