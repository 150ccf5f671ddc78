/* Hardware interrupts: the timer drives time and scheduling; the rest is acknowledged. */
#include "timer.h"
#include "../arch/x86/desc.h"
#include "../arch/x86/pic.h"
#include "../arch/x86/trap.h"

void irq_dispatch(unsigned vector)
{
	unsigned irq = vector - VEC_IRQ0;

	pic_eoi(irq);
	if (irq == 0)
		timer_tick();
}
