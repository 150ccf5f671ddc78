/*
 * The local APIC (Intel SDM vol. 3, chapter 11), used for its timer: a
 * one-shot countdown, or on CPUs that have it a deadline in TSC ticks.
 * Everything else stays as the firmware's virtual-wire setup had it: the
 * PIC's interrupts arrive through LINT0, NMIs through LINT1.
 */
#ifndef UMBRA_ARCH_LAPIC_H
#define UMBRA_ARCH_LAPIC_H

#include "../../lib/types.h"
#include "desc.h"

/*
 * The APIC's vectors lie in the PIC's range, 32-47, which guests can
 * neither claim for a direct gate nor raise with int: the timer takes IRQ
 * 0's (the PIT's line stays masked while the APIC's timer is used), the
 * spurious vector IRQ 15's (P6-era CPUs fix its low four bits to ones).
 */
#define VEC_APIC_TIMER		(VEC_IRQ0 + 0)
#define VEC_APIC_SPURIOUS	(VEC_IRQ0 + 15)

/* The APIC's registers' physical address, 0 if there is no usable APIC. */
paddr_t lapic_phys_base(void);

/* Enable the APIC whose registers are mapped at regs; timer masked. */
void lapic_init(volatile void *regs);

/* Timer counts per millisecond (divide by 1), measured against the TSC. */
u32 lapic_timer_khz(u32 tsc_khz);

bool lapic_has_tsc_deadline(void);
/* Interrupt once after count timer ticks (at least 1). */
void lapic_timer_oneshot(u32 count);
/* Interrupt once the TSC reaches tsc (at once if it has); TSC-deadline mode. */
void lapic_timer_deadline(u64 tsc);
void lapic_eoi(void);

#endif
