/*
 * The hypervisor's console: kprintf and klog, to the UART and the VGA
 * mirror, with the log level deciding what is said.
 */
#include <stdarg.h>
#include "console.h"
#include "../arch/x86/uart.h"
#include "../arch/x86/vga.h"
#include "../lib/format.h"

static unsigned log_level = LOG_INFO;

void console_init(void)
{
	uart_init();
	vga_init();
}

void console_set_level(unsigned level)
{
	log_level = level;
}

void console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uart_putc(s[i]);
		vga_putc(s[i]);
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
