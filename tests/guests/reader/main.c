/*
 * Console input: the guest reads what is typed for it (UMBRA_HC_CONSOLE_READ,
 * woken by virtual interrupt UMBRA_IRQ_CONSOLE) and echoes each line back
 * as "[name] got: LINE", until it reads the line "quit". With lazy_ms=N it
 * spins N ms of TSC time after saying it is ready, so that what is typed
 * meanwhile piles up in the hypervisor's buffer, then reads once, says how
 * much it got, and ends.
 */
#include <umbra/kernel.h>

#define CONSOLE_VECTOR	UMBRA_IRQ_VECTOR(UMBRA_IRQ_CONSOLE)

static volatile unsigned wakeups;

void umbra_trap_handler(struct umbra_frame *f)
{
	if (f->vector == CONSOLE_VECTOR || f->vector == UMBRA_IRQ_VECTOR(UMBRA_IRQ_TIMER))
		wakeups++;
}

static long console_read(char *buf, uint32_t size)
{
	return umbra_hcall(UMBRA_HC_CONSOLE_READ, (uint32_t)(uintptr_t)buf, size, 0, 0);
}

int guest_main(const struct umbra_boot_info *bi)
{
	char line[128], buf[64];
	unsigned len = 0, lines = 0;

	umbra_shared_init(0, 0);
	umbra_set_trap(CONSOLE_VECTOR, (void (*)(void))umbra_trap_stub(CONSOLE_VECTOR), UMBRA_GATE_INTR, 1);
	umbra_set_trap(UMBRA_IRQ_VECTOR(UMBRA_IRQ_TIMER),
		       (void (*)(void))umbra_trap_stub(UMBRA_IRQ_VECTOR(UMBRA_IRQ_TIMER)), UMBRA_GATE_INTR, 1);
	console_read(buf, 0);		/* says this guest reads input */
	umbra_printf("%s: ready\n", bi->name);
	if (umbra_arg_u32(bi, "lazy_ms", 0)) {
		uint64_t until = umbra_rdtsc() + (uint64_t)umbra_arg_u32(bi, "lazy_ms", 0) *
				 umbra_shared.tsc_khz;
		long got = 0, n;

		while (umbra_rdtsc() < until)
			;
		while ((n = console_read(line, sizeof(line))) > 0)
			got += n;
		umbra_printf("%s: read %ld bytes\n", bi->name, got);
		return 0;
	}
	for (;;) {
		long n;

		umbra_cli();
		n = console_read(buf, sizeof(buf));
		if (n == 0) {
			umbra_set_timer(100000000);	/* and look again in 100 ms anyway */
			umbra_halt();
			umbra_sti();
			continue;
		}
		umbra_sti();
		for (long i = 0; i < n; i++) {
			char c = buf[i];

			if (c == '\r' || c == '\n') {
				line[len] = '\0';
				umbra_printf("%s got: %s\n", bi->name, line);
				lines++;
				if (len == 4 && line[0] == 'q' && line[1] == 'u' && line[2] == 'i' && line[3] == 't')
					goto done;
				len = 0;
			} else if (len < sizeof(line) - 1) {
				line[len++] = c;
			}
		}
	}
done:
	umbra_check(wakeups > 0, "reader: woken by the console interrupt");
	umbra_printf("%s: %u lines\n", bi->name, lines);
	return 0;
}
