/* Time: the machine's timer ticks TIMER_HZ times a second. */
#include "kernel.h"
#include "clock.h"
#include "machine.h"
#include "proc.h"

uint64_t ticks;

void clock_tick(void)
{
	ticks++;
	wakeup(&ticks);
	need_resched = true;
}

uint32_t clock_ms(void)
{
	return (uint32_t)(ticks * (1000 / TIMER_HZ));
}

int clock_sleep_ms(uint32_t ms)
{
	uint64_t until = ticks + (ms + 1000 / TIMER_HZ - 1) / (1000 / TIMER_HZ);

	while (ticks < until) {
		if (curproc->killed)
			return -PN_EINTR;
		sleep_on(&ticks);
	}
	return 0;
}
