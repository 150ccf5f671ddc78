/*
 * Round-robin scheduling with preemption: a guest keeps the CPU until it
 * yields, halts, ends, or its time slice (slice= on the hypervisor's
 * command line, in ms) runs out while another guest is waiting.
 */
#ifndef UMBRA_HV_SCHED_H
#define UMBRA_HV_SCHED_H

#include "guest.h"

#define DEFAULT_SLICE_MS	10

void sched_init(u32 slice_ms);

/* Start g's time slice; called as it takes the CPU. */
void sched_start_slice(void);

/* The running guest's slice ends at this TSC value (0: no slice running). */
u64 sched_slice_end(void);

/* Called from the timer's interrupt; marks the running guest for preemption. */
void sched_timer(u64 now);

/* True if the guest on the CPU should give it up now. */
bool sched_should_preempt(void);

/* The next runnable guest after the last one picked, or NULL. */
struct guest *sched_pick(void);

/* Some guest sleeps and may be woken by a timer. */
bool sched_any_halted(void);

#endif
