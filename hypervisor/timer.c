/*
 * Time: the TSC, calibrated once at boot (tsc.c), is the clock; one
 * hardware timer makes things happen when they are due: guests' one-shot
 * timers, module time-outs and the end of the running guest's slice.
 *
 * With a local APIC, its timer is programmed for the nearest of those
 * deadlines and nothing else interrupts: a guest's timer fires within
 * microseconds of its deadline, and a machine with nothing to do sleeps.
 * Without one, the PIT's 1 kHz tick looks at every deadline each
 * millisecond, and a deadline is met by the first tick after it.
 */
#include "timer.h"
#include "acpi.h"
#include "console.h"
#include "guest.h"
#include "power.h"
#include "reflect.h"
#include "sched.h"
#include "tsc.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/lapic.h"
#include "../arch/x86/pic.h"
#include "../arch/x86/pit.h"
#include "../mm/hvmap.h"
#include "../mm/phys.h"

/* The longest the APIC's timer is set for: its counter is 32 bits. */
#define MAX_ARM_MS	1000

u32 tsc_khz;

static enum { TICK_PIT, TICK_APIC_ONESHOT, TICK_APIC_DEADLINE } tick;
static u32 apic_khz;

static const char *start_apic_timer(void)
{
	paddr_t base = lapic_phys_base();

	if (!base)
		return "no local APIC";
	if (!hvmap_mmio(base))
		return "its registers cannot be mapped";
	lapic_init(phys_to_virt(base));
	if (lapic_has_tsc_deadline()) {
		tick = TICK_APIC_DEADLINE;
		klog(LOG_INFO, "umbra: timer: local APIC, TSC-deadline mode\n");
		return NULL;
	}
	apic_khz = lapic_timer_khz(tsc_khz);
	if (!apic_khz)
		return "its timer does not count";
	tick = TICK_APIC_ONESHOT;
	klog(LOG_INFO, "umbra: timer: local APIC one-shot at %u kHz\n", apic_khz);
	return NULL;
}

void timer_init(void)
{
	const char *why;

	tsc_khz = tsc_calibrate();
	if (!tsc_khz) {
		kprintf("umbra: no usable time source: the PIT does not count, %s, and CPUID does "
			"not give the TSC's rate; umbra cannot keep time on this machine\n",
			acpi.pm_timer || acpi.hpet ? "nor do the ACPI PM timer or the HPET" :
			"ACPI names no PM timer or HPET");
		power_off(false);
	}
	why = start_apic_timer();
	if (why) {
		tick = TICK_PIT;
		klog(LOG_INFO, "umbra: timer: the PIT's 1 kHz tick (local APIC: %s)\n", why);
		pit_periodic(TICK_HZ);
		pic_unmask(0);
	}
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

u64 timer_granularity(void)
{
	return tick == TICK_PIT ? ms_to_tsc(1000 / TICK_HZ) : 0;
}

static u64 earliest(u64 a, u64 b)
{
	return b && b < a ? b : a;
}

/* The nearest deadline of anyone, or MAX_ARM_MS from now. */
static u64 next_deadline(u64 now)
{
	u64 due = earliest(now + ms_to_tsc(MAX_ARM_MS), sched_slice_end());

	for (unsigned i = 0; i < MAX_GUESTS; i++) {
		const struct guest *g = &guests[i];

		if (g->state == GUEST_RUNNABLE || g->state == GUEST_HALTED)
			due = earliest(earliest(due, g->timer_deadline), g->kill_deadline);
	}
	return due;
}

/*
 * A count rounded up, so the interrupt is never early by the APIC's
 * clock; if that clock runs a little fast against the TSC, the interrupt
 * finds nothing due yet and sets the timer again for what is left.
 */
void timer_rearm(void)
{
	u64 now, due;

	if (tick == TICK_PIT)
		return;
	now = rdtsc();
	due = next_deadline(now);
	if (tick == TICK_APIC_DEADLINE) {
		lapic_timer_deadline(due);
		return;
	}
	due = due > now ? due - now : 0;
	lapic_timer_oneshot((u32)MIN((due * apic_khz + tsc_khz - 1) / tsc_khz, 0xffffffffull));
}

void timer_set(struct guest *g, u64 ns)
{
	g->timer_deadline = ns ? rdtsc() + MAX(ns_to_tsc(ns), 1) : 0;
	timer_rearm();
}

static void due_guest(struct guest *g, u64 now)
{
	if (g->timer_deadline && now >= g->timer_deadline) {
		g->timer_deadline = 0;
		raise_irq(g, UMBRA_IRQ_TIMER);
	}
	if (g->kill_deadline && now >= g->kill_deadline)
		guest_end(g, "timed out (timeout= on its module line)");
}

void timer_interrupt(void)
{
	u64 now = rdtsc();

	if (tick == TICK_PIT)
		pic_eoi(0);
	else
		lapic_eoi();
	for (unsigned i = 0; i < MAX_GUESTS; i++)
		if (guests[i].state == GUEST_RUNNABLE || guests[i].state == GUEST_HALTED)
			due_guest(&guests[i], now);
	sched_timer(now);
	timer_rearm();
}
