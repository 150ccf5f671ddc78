#include "kernel.h"
#include "machine.h"

int kprintf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mach_console_write(buf, (uint32_t)strnlen(buf, sizeof(buf)));
	return n;
}

/* Only the kernel's own bugs end here, never what a process did. */
void panic(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	mach_irq_save();
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kprintf("penumbra: PANIC: %s\n", buf);
	mach_poweroff(2);
}
