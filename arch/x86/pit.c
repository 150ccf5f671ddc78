/*
 * The 8254 timer: channel 0's periodic interrupt (the tick when there is no
 * local APIC timer), and channel 2 as a free-running counter to measure
 * the TSC against.
 */
#include "pit.h"
#include "cpu.h"

#define PIT_CH0		0x40
#define PIT_CH2		0x42
#define PIT_CMD		0x43
#define PORT_B		0x61		/* the PIT's channel 2 gate, and the speaker */
#define PORT_B_GATE2	0x01
#define PORT_B_SPEAKER	0x02
#define CMD_CH0_RATE	0x34		/* channel 0, lobyte/hibyte, mode 2 */
#define CMD_CH2_RATE	0xb4		/* channel 2, lobyte/hibyte, mode 2 */
#define CMD_CH2_LATCH	0x80		/* channel 2, counter latch */

static u8 port_b;

void pit_periodic(u32 hz)
{
	u32 divisor = (PIT_HZ + hz / 2) / hz;

	outb(PIT_CMD, CMD_CH0_RATE);
	outb(PIT_CH0, divisor & 0xff);
	outb(PIT_CH0, divisor >> 8);
}

/*
 * Mode 2 with a count of 0 (65536): the counter runs down from 65535 to 0
 * and round again, 1193182 times a second, for as long as the gate is up.
 */
void pit_counter_start(void)
{
	port_b = inb(PORT_B);
	outb(PORT_B, (port_b & ~PORT_B_SPEAKER) & ~PORT_B_GATE2);
	outb(PIT_CMD, CMD_CH2_RATE);
	outb(PIT_CH2, 0);
	outb(PIT_CH2, 0);
	outb(PORT_B, (port_b & ~PORT_B_SPEAKER) | PORT_B_GATE2);
}

/* The latch freezes a copy of the count, so its two bytes belong together. */
u32 pit_counter_read(void)
{
	u8 lo, hi;

	outb(PIT_CMD, CMD_CH2_LATCH);
	lo = inb(PIT_CH2);
	hi = inb(PIT_CH2);
	return (u32)hi << 8 | lo;
}

void pit_counter_stop(void)
{
	outb(PORT_B, port_b);
}
