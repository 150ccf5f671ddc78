/*
 * Time: the TSC is the clock, the PIT's periodic interrupt the heartbeat
 * that wakes sleepers, fires guest timers, enforces timeouts and ends time
 * slices.
 */
#ifndef UMBRA_HV_TIMER_H
#define UMBRA_HV_TIMER_H

#include "../lib/types.h"

#define TICK_HZ	1000

extern u32 tsc_khz;

void timer_init(void);
u64 ms_to_tsc(u64 ms);
u64 ns_to_tsc(u64 ns);

/* The PIT's interrupt: everything that is due happens here. */
void timer_tick(void);

/* One-shot guest timer, ns from now (0 cancels). */
struct guest;
void timer_set(struct guest *g, u64 ns);

#endif
