/* The 8254 programmable interval timer. */
#ifndef UMBRA_ARCH_PIT_H
#define UMBRA_ARCH_PIT_H

#include "../../lib/types.h"

#define PIT_HZ	1193182u

/* Channel 0 interrupts (IRQ 0) at about `hz` times a second. */
void pit_periodic(u32 hz);

/*
 * Channel 2 as a 16-bit down-counter at PIT_HZ, for measuring: start it,
 * read it, give port 0x61 back. Where there is no PIT the reads return
 * what an empty port does, a count that never moves.
 */
void pit_counter_start(void);
u32 pit_counter_read(void);
void pit_counter_stop(void);

#endif
