/*
 * Time: the TSC, calibrated once at boot, and the 1 kHz PIT tick that
 * drives guests' one-shot timers, module time-outs and the scheduler's
 * slices.
 */
#include "timer.h"
#include "console.h"
#include "guest.h"
#include "reflect.h"
#include "sched.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/pic.h"
#include "../arch/x86/pit.h"

u32 tsc_khz;

void timer_init(void)
{
	tsc_khz = pit_measure_tsc_khz();
	if (!tsc_khz)
		tsc_khz = 1;
	klog(LOG_INFO, "umbra: TSC runs at %u kHz\n", tsc_khz);
	pit_periodic(TICK_HZ);
	pic_unmask(0);
}

u64 ms_to_tsc(u64 ms)
{
	return ms * tsc_khz;
}

/* Split so that ns * kHz cannot overflow for any ns below 2^64. */
u64 ns_to_tsc(u64 ns)
{
	return (ns / 1000000) * tsc_khz + (ns % 1000000) * tsc_khz / 1000000;
}

void timer_set(struct guest *g, u64 ns)
{
	g->timer_deadline = ns ? rdtsc() + MAX(ns_to_tsc(ns), 1) : 0;
}

static void tick_guest(struct guest *g, u64 now)
{
	if (g->timer_deadline && now >= g->timer_deadline) {
		g->timer_deadline = 0;
		raise_irq(g, UMBRA_IRQ_TIMER);
	}
	if (g->kill_deadline && now >= g->kill_deadline)
		guest_end(g, "timed out (timeout= on its module line)");
}

void timer_tick(void)
{
	u64 now = rdtsc();

	for (unsigned i = 0; i < MAX_GUESTS; i++)
		if (guests[i].state == GUEST_RUNNABLE || guests[i].state == GUEST_HALTED)
			tick_guest(&guests[i], now);
	sched_tick();
}
