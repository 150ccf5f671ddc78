/*
 * Time: the TSC is the clock; the local APIC's timer, set for the nearest
 * deadline (or, without an APIC, the PIT's 1 kHz tick), wakes sleepers,
 * fires guest timers, enforces time-outs and ends time slices.
 */
#ifndef UMBRA_HV_TIMER_H
#define UMBRA_HV_TIMER_H

#include "../lib/types.h"

#define TICK_HZ	1000	/* the PIT's rate, when it is the timer */

extern u32 tsc_khz;

/* Calibrate the TSC and start the timer; a machine with no clock stops here. */
void timer_init(void);
u64 ms_to_tsc(u64 ms);
u64 ns_to_tsc(u64 ns);

/* How late, in TSC ticks, the timer may see a deadline: 0 with the APIC, a tick with the PIT. */
u64 timer_granularity(void);

/* A deadline changed: set the timer for the nearest one. */
void timer_rearm(void);

/* The timer's interrupt: everything that is due happens here. */
void timer_interrupt(void);

/* One-shot guest timer, ns from now (0 cancels). */
struct guest;
void timer_set(struct guest *g, u64 ns);

#endif
