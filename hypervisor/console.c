/*
 * The hypervisor's console: kprintf and klog, to the UART and the VGA
 * mirror, with the log level deciding what is said. The UART's output is
 * buffered and sent by its interrupt once that is set up (uart.c); the
 * VGA mirror is written at once.
 */
#include <stdarg.h>
#include "console.h"
#include "../arch/x86/uart.h"
#include "../arch/x86/vga.h"
#include "../lib/format.h"
#include "timer.h"

static unsigned log_level = LOG_INFO;

/*
 * A line left open by the guest with console focus, whose output goes out
 * as it comes (its prompt, its echo); anything else printed ends it first.
 */
static const void *open_line;

void console_init(void)
{
	uart_init();
	vga_init();
}

void console_set_level(unsigned level)
{
	log_level = level;
}

void console_start_irq(void)
{
	uart_enable_irq();
}

void console_flush(void)
{
	uart_flush();
}

void console_unbuffered(void)
{
	uart_unbuffered();
}

bool console_has_room(u32 bytes)
{
	return uart_tx_room() >= bytes + CONSOLE_RESERVE;
}

void console_report(void)
{
	u64 waited = uart_wait_tsc();

	if (waited)
		kprintf("umbra: console: writers waited %llu us for the UART (its output buffer of "
			"%u KiB was full)\n", waited * 1000 / tsc_khz, UART_TX_RING / 1024);
}

static void put(const char *s, size_t n)
{
	uart_write(s, n);
	for (size_t i = 0; i < n; i++)
		vga_putc(s[i]);
}

void console_write(const char *s, size_t n)
{
	if (open_line) {
		put("\n", 1);
		open_line = NULL;
	}
	put(s, n);
}

bool console_write_open(const void *owner, const char *s, size_t n)
{
	bool continues = open_line == owner;

	if (open_line && !continues)
		put("\n", 1);
	open_line = owner;
	put(s, n);
	return continues;
}

bool console_line_open(const void *owner)
{
	return open_line == owner;
}

void console_close_line(const void *owner)
{
	if (open_line == owner) {
		put("\n", 1);
		open_line = NULL;
	}
}

static void vprint(const char *fmt, va_list ap)
{
	char buf[256];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	console_write(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
}

void klog(unsigned level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
}
