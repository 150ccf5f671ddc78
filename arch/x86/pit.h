/* The 8254 programmable interval timer. */
#ifndef UMBRA_ARCH_PIT_H
#define UMBRA_ARCH_PIT_H

#include "../../lib/types.h"

#define PIT_HZ	1193182u

/* Channel 0 interrupts (IRQ 0) at about `hz` times a second. */
void pit_periodic(u32 hz);

/* TSC ticks per millisecond, measured against channel 2 over 2 ms. */
u32 pit_measure_tsc_khz(void);

#endif
