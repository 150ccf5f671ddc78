/*
 * The 8254 timer: the 1 kHz tick, and the TSC calibrated against it at boot.
 */
#include "pit.h"
#include "cpu.h"

#define PIT_CH0		0x40
#define PIT_CH2		0x42
#define PIT_CMD		0x43
#define PORT_B		0x61	/* bit 0: channel 2 gate, bit 5: channel 2 output */
#define CMD_CH0_RATE	0x34	/* channel 0, lobyte/hibyte, mode 2 */
#define CMD_CH2_ONESHOT	0xb0	/* channel 2, lobyte/hibyte, mode 0 */
#define CALIBRATE_MS	2

void pit_periodic(u32 hz)
{
	u32 divisor = (PIT_HZ + hz / 2) / hz;

	outb(PIT_CMD, CMD_CH0_RATE);
	outb(PIT_CH0, divisor & 0xff);
	outb(PIT_CH0, divisor >> 8);
}

/*
 * Channel 2 counts down once from the value written and raises its output
 * at zero; its gate is in port 0x61, so the count starts when we say.
 */
u32 pit_measure_tsc_khz(void)
{
	u32 count = PIT_HZ * CALIBRATE_MS / 1000;
	u64 start, end;
	u8 b = inb(PORT_B);

	outb(PORT_B, (b & ~0x02) & ~0x01);	/* gate low, speaker off */
	outb(PIT_CMD, CMD_CH2_ONESHOT);
	outb(PIT_CH2, count & 0xff);
	outb(PIT_CH2, count >> 8);
	start = rdtsc();
	outb(PORT_B, (b & ~0x02) | 0x01);	/* gate high: count */
	while (!(inb(PORT_B) & 0x20))
		;
	end = rdtsc();
	outb(PORT_B, b);
	return (u32)((end - start) / CALIBRATE_MS);
}
