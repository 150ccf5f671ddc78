/*
 * The scheduler: round-robin over runnable guests, with slices ended by
 * the timer.
 */
#include "sched.h"
#include "timer.h"
#include "../arch/x86/cpu.h"

/*
 * A slice ends at a TSC deadline. With the PIT as the timer, a deadline is
 * seen at the first tick after it, so the slice is shortened by a tick:
 * it then lasts between `slice` ms less a tick and `slice` ms, never longer.
 */
static u64 slice_tsc;
static u64 slice_end;
static bool slice_over;
static unsigned last = MAX_GUESTS - 1;

void sched_init(u32 slice_ms)
{
	u64 slice = ms_to_tsc(slice_ms), gran = timer_granularity();

	slice_tsc = slice > gran ? slice - gran : 0;
}

void sched_start_slice(void)
{
	slice_end = rdtsc() + slice_tsc;
	slice_over = false;
	timer_rearm();
}

u64 sched_slice_end(void)
{
	return current_guest && !slice_over ? slice_end : 0;
}

void sched_timer(u64 now)
{
	if (current_guest && !slice_over && now >= slice_end)
		slice_over = true;
}

static bool others_runnable(void)
{
	for (unsigned i = 0; i < MAX_GUESTS; i++)
		if (guests[i].state == GUEST_RUNNABLE && &guests[i] != current_guest)
			return true;
	return false;
}

/* A finished slice with nobody waiting simply starts another. */
bool sched_should_preempt(void)
{
	if (!slice_over)
		return false;
	if (others_runnable())
		return true;
	sched_start_slice();
	return false;
}

struct guest *sched_pick(void)
{
	for (unsigned n = 1; n <= MAX_GUESTS; n++) {
		unsigned i = (last + n) % MAX_GUESTS;

		if (guests[i].state == GUEST_RUNNABLE) {
			last = i;
			return &guests[i];
		}
	}
	return NULL;
}

bool sched_any_halted(void)
{
	for (unsigned i = 0; i < MAX_GUESTS; i++)
		if (guests[i].state == GUEST_HALTED)
			return true;
	return false;
}
