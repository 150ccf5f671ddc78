/*
 * The 16550 UART on COM1: 115200 8N1, input by its receive interrupt,
 * output through a ring that its transmit interrupt drains.
 *
 * At 115200 baud a byte takes 87 us on the wire, so a writer that waited
 * for the UART would hold the CPU, with interrupts off, for a third of a
 * second per 4 KiB. Instead output goes into the ring and the writer moves
 * on; whenever the transmitter is empty (THRE) the UART interrupts, and
 * the handler refills its FIFO (16 bytes on a 16550A, 1 on older parts).
 * The hypervisor runs with interrupts off, so the ring drains while a
 * guest runs or while the hypervisor idles.
 *
 * Nothing is dropped here: a writer that finds the ring full waits for
 * the UART itself until there is room (guest output is held to a budget
 * above this, guest_console.c, so that this is rare). Until the interrupt
 * is set up, and after a panic, every write goes out before it returns.
 *
 * Many PCs have no COM1 any more: its registers then read 0xff, and its
 * output is dropped (the VGA mirror still shows it) rather than queued
 * for an interrupt that never comes.
 *
 * The PIC takes the UART's interrupt on its edge. The line stays up while
 * any enabled cause is pending, so a cause arising while another is
 * pending would raise no new edge and be lost; every change to IER
 * therefore clears it first, which drops the line and raises it again
 * for anything still pending.
 */
#include "uart.h"
#include "cpu.h"

#define COM1		0x3f8
#define UART_DATA	0	/* RBR, THR; DLL when DLAB is set */
#define UART_IER	1	/* DLM when DLAB is set */
#define UART_IIR	2	/* read */
#define UART_FCR	2	/* write */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define IER_ERBFI	0x01	/* received data available */
#define IER_ETBEI	0x02	/* transmitter holding register empty */
#define IIR_FIFOS	0xc0	/* both set: the FIFOs are on (16550A) */
#define FCR_ENABLE	0x01
#define FCR_CLEAR	0x06	/* clear both FIFOs */
#define FCR_TRIGGER_14	0xc0
#define LCR_8N1		0x03
#define LCR_DLAB	0x80
#define MCR_DTR_RTS_OUT2 0x0b	/* OUT2 gates the interrupt line on PCs */
#define LSR_DR		0x01	/* data ready */
#define LSR_THRE	0x20	/* the transmitter holding register (or FIFO) is empty */
#define LSR_TEMT	0x40	/* ... and so is the shift register */
#define BAUD_DIVISOR	1	/* 115200 = 1.8432 MHz / 16 / 1 */
#define FIFO_16550A	16

/* Bytes one interrupt may send: a FIFO's worth on hardware, more where the UART is instant. */
#define TX_PER_IRQ	256

static char ring[UART_TX_RING];
static u32 head, tail;		/* free-running: bytes queued, bytes sent */
static unsigned fifo = 1;	/* bytes the transmitter takes when THRE is set */
static bool present;
static bool buffered;		/* the transmit interrupt is set up */
static u8 ier;
static u64 wait_tsc;

void uart_init(void)
{
	present = inb(COM1 + UART_LSR) != 0xff;
	if (!present)
		return;
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DATA, BAUD_DIVISOR & 0xff);
	outb(COM1 + UART_IER, BAUD_DIVISOR >> 8);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, FCR_ENABLE | FCR_CLEAR | FCR_TRIGGER_14);
	if ((inb(COM1 + UART_IIR) & IIR_FIFOS) == IIR_FIFOS)
		fifo = FIFO_16550A;
	outb(COM1 + UART_MCR, MCR_DTR_RTS_OUT2);
}

static void write_ier(u8 v)
{
	ier = v;
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_IER, v);
}

static bool thr_empty(void)
{
	return inb(COM1 + UART_LSR) & LSR_THRE;
}

/* Give the transmitter what it takes now: call only with THRE set. */
static u32 fill_fifo(void)
{
	u32 n = 0;

	while (n < fifo && tail != head) {
		outb(COM1 + UART_DATA, (u8)ring[tail % UART_TX_RING]);
		tail++;
		n++;
	}
	return n;
}

/* Wait for the transmitter, then give it one FIFO's worth. */
static void send_waiting(void)
{
	while (!thr_empty())
		;
	fill_fifo();
}

/* Enable the transmit interrupt while there is something to send, and only then. */
static void arm(void)
{
	u8 want = IER_ERBFI | (tail != head ? IER_ETBEI : 0);

	if (want != ier)
		write_ier(want);
}

static void drain(void)
{
	while (tail != head)
		send_waiting();
}

/* The ring is full: the writer waits, and the time it waited is counted. */
static void wait_for_room(u32 bytes)
{
	u64 start = rdtsc();

	while (head - tail + bytes > UART_TX_RING)
		send_waiting();
	if (buffered)
		wait_tsc += rdtsc() - start;
}

void uart_write(const char *s, size_t n)
{
	if (!present)
		return;
	for (size_t i = 0; i < n; i++) {
		bool crlf = s[i] == '\n';

		if (head - tail + 1 + crlf > UART_TX_RING)
			wait_for_room(1 + crlf);
		if (crlf)
			ring[head++ % UART_TX_RING] = '\r';
		ring[head++ % UART_TX_RING] = s[i];
	}
	if (!buffered) {
		drain();
		return;
	}
	if (thr_empty())
		fill_fifo();
	arm();
}

void uart_flush(void)
{
	if (!present)
		return;
	drain();
	while (!(inb(COM1 + UART_LSR) & LSR_TEMT))
		;
	if (buffered)
		arm();
}

void uart_tx_irq(void)
{
	u32 sent = 0;

	if (!buffered)
		return;
	while (tail != head && sent < TX_PER_IRQ && thr_empty())
		sent += fill_fifo();
	/* Whatever is still pending raises a fresh edge. */
	write_ier(IER_ERBFI | (tail != head ? IER_ETBEI : 0));
}

void uart_enable_irq(void)
{
	if (!present)
		return;
	buffered = true;
	write_ier(IER_ERBFI | (tail != head ? IER_ETBEI : 0));
}

void uart_unbuffered(void)
{
	if (!present)
		return;
	uart_flush();
	buffered = false;
	write_ier(IER_ERBFI);
}

u32 uart_tx_room(void)
{
	return UART_TX_RING - (head - tail);
}

u64 uart_wait_tsc(void)
{
	return wait_tsc;
}

unsigned uart_fifo_size(void)
{
	return fifo;
}

int uart_getc(void)
{
	if (!present || !(inb(COM1 + UART_LSR) & LSR_DR))
		return -1;
	return inb(COM1 + UART_DATA);
}
