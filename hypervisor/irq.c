/*
 * Hardware interrupts, all the hypervisor's: the timer drives time and
 * scheduling, the serial port brings console input (for a guest, or the
 * debug keys) and takes the console's output; the rest is acknowledged.
 */
#include "console_in.h"
#include "timer.h"
#include "../arch/x86/uart.h"
#include "../arch/x86/desc.h"
#include "../arch/x86/lapic.h"
#include "../arch/x86/pic.h"
#include "../arch/x86/trap.h"

/*
 * Vector 32 is the timer's, the APIC's or the PIT's, and timer.c knows
 * which to acknowledge. Vector 47 is also the APIC's spurious vector,
 * which wants no EOI: IRQ 15 is masked, so only the slave PIC's own
 * spurious interrupt (with the cascade line in service) comes from there.
 */
void irq_dispatch(unsigned vector)
{
	unsigned irq = vector - VEC_IRQ0;

	if (vector == VEC_APIC_TIMER) {
		timer_interrupt();
		return;
	}
	if (vector == VEC_APIC_SPURIOUS && !pic_in_service(PIC_CASCADE_IRQ))
		return;
	pic_eoi(irq);
	if (irq == UART_IRQ) {
		console_in_poll();
		uart_tx_irq();
	}
}
