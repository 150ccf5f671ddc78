/*
 * The scheduler: round-robin over runnable guests, with slices counted in
 * timer ticks.
 */
#include "sched.h"
#include "timer.h"

/*
 * Slices are counted in ticks, not TSC deadlines: a deadline taken when a
 * guest starts, a moment after the tick that ended the last slice, would
 * fall just after the tick `slice` ms later and stretch every slice by one.
 */
static u32 slice_ticks;
static u32 ticks_left;
static bool slice_over;
static unsigned last = MAX_GUESTS - 1;

void sched_init(u32 slice_ms)
{
	slice_ticks = MAX(slice_ms * TICK_HZ / 1000, 1u);
}

void sched_start_slice(void)
{
	ticks_left = slice_ticks;
	slice_over = false;
}

void sched_tick(void)
{
	if (current_guest && ticks_left && !--ticks_left)
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
