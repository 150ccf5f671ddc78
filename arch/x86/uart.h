/* The 16550 UART on COM1: 115200 baud, 8 data bits, no parity, 1 stop bit. */
#ifndef UMBRA_ARCH_UART_H
#define UMBRA_ARCH_UART_H

#include "../../lib/types.h"

#define UART_IRQ	4
#define UART_TX_RING	(32 * 1024)	/* bytes of output waiting for the UART; a power of two */

void uart_init(void);

/*
 * Queue output ("\n" goes out as "\r\n"). Until uart_enable_irq(), and
 * after uart_unbuffered(), it is sent before this returns; in between the
 * transmit interrupt sends it, and only a full ring makes the writer wait.
 */
void uart_write(const char *s, size_t n);
void uart_flush(void);		/* send everything queued, to the last bit */
u32 uart_tx_room(void);		/* bytes the ring takes without waiting */
u64 uart_wait_tsc(void);	/* TSC ticks writers have waited for the UART */
unsigned uart_fifo_size(void);	/* 16 on a 16550A, 1 without a FIFO */

/* Raise IRQ 4 when a byte arrives and while queued output waits for the transmitter. */
void uart_enable_irq(void);
void uart_tx_irq(void);		/* from IRQ 4: feed the transmitter */
void uart_unbuffered(void);	/* send what is queued, and everything after it at once */

int uart_getc(void);	/* -1 if nothing is waiting */

#endif
