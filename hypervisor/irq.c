/*
 * Hardware interrupts, all the hypervisor's: the timer drives time and
 * scheduling, the serial port brings console input (for a guest, or the
 * debug keys) and takes the console's output; the rest is acknowledged.
 */
#include "console_in.h"
#include "timer.h"
#include "../arch/x86/uart.h"
#include "../arch/x86/desc.h"
#include "../arch/x86/pic.h"
#include "../arch/x86/trap.h"

void irq_dispatch(unsigned vector)
{
	unsigned irq = vector - VEC_IRQ0;

	pic_eoi(irq);
	if (irq == 0)
		timer_tick();
	else if (irq == UART_IRQ) {
		console_in_poll();
		uart_tx_irq();
	}
}
