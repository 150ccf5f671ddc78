/*
 * The 16550 UART on COM1: 115200 8N1 output by polling, and input by
 * its receive interrupt.
 */
#include "uart.h"
#include "cpu.h"

#define COM1		0x3f8
#define UART_DATA	0	/* DLL when DLAB is set */
#define UART_IER	1	/* DLM when DLAB is set */
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define LCR_8N1		0x03
#define LCR_DLAB	0x80
#define LSR_DATA_READY	0x01
#define LSR_THR_EMPTY	0x20
#define BAUD_DIVISOR	1	/* 115200 = 1.8432 MHz / 16 / 1 */

void uart_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DATA, BAUD_DIVISOR & 0xff);
	outb(COM1 + UART_IER, BAUD_DIVISOR >> 8);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, 0xc7);	/* enable and clear FIFOs */
	outb(COM1 + UART_MCR, 0x0b);	/* DTR, RTS, OUT2 */
}

void uart_putc(char c)
{
	if (c == '\n')
		uart_putc('\r');
	while (!(inb(COM1 + UART_LSR) & LSR_THR_EMPTY))
		;
	outb(COM1 + UART_DATA, (u8)c);
}

void uart_enable_rx_irq(void)
{
	outb(COM1 + UART_IER, 0x01);	/* received data available */
}

int uart_getc(void)
{
	if (!(inb(COM1 + UART_LSR) & LSR_DATA_READY))
		return -1;
	return inb(COM1 + UART_DATA);
}
