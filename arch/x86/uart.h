/* The 16550 UART on COM1: 115200 baud, 8 data bits, no parity, 1 stop bit. */
#ifndef UMBRA_ARCH_UART_H
#define UMBRA_ARCH_UART_H

void uart_init(void);
void uart_putc(char c);
int uart_getc(void);	/* -1 if nothing is waiting */

#define UART_IRQ	4

/* Raise IRQ 4 when a byte arrives. */
void uart_enable_rx_irq(void);

#endif
