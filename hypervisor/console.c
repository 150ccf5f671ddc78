/*
 * The hypervisor's console: kprintf and klog, to the UART and the VGA
 * mirror where there is one, with the log level deciding what is said. The
 * UART's output is buffered and sent by its interrupt once that is set up
 * (uart.c); the VGA mirror is written at once.
 */
#include <stdarg.h>
#include "console.h"
#include "display.h"
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

static struct display display;

/*
 * Paging is still off: the BIOS data area is at its physical address. The
 * asm hides the constant from the compiler, which would take a pointer
 * below 4 KiB for a bug.
 */
static const u8 *bios_data_area(void)
{
	uintptr_t p = BDA_BASE;

	__asm__("" : "+r"(p));
	return (const u8 *)p;
}

void console_init(u32 magic, const struct mb_info *mbi)
{
	uart_init();
	display_choose(magic == MB_BOOTLOADER_MAGIC ? mbi : NULL, bios_data_area(), &display);
	if (display.kind == DISPLAY_VGA_TEXT)
		vga_init(display.cols, display.rows);
}

static const char *fb_type_name(u8 type)
{
	switch (type) {
	case MB_FB_INDEXED:	return "indexed colour";
	case MB_FB_RGB:		return "RGB";
	case MB_FB_EGA_TEXT:	return "EGA text";
	default:		return "unknown";
	}
}

void console_say_display(void)
{
	const struct display *d = &display;
	char why[128];

	if (d->source == DISPLAY_FROM_MBI)
		snprintf(why, sizeof(why), "framebuffer type %u, %s, %ux%u at 0x%llx",
			 d->fb_type, fb_type_name(d->fb_type), d->fb_width, d->fb_height, d->fb_addr);
	else
		snprintf(why, sizeof(why), "no framebuffer named; BIOS data area: video mode 0x%x,"
			 " CRT controller 0x%x", d->bda_mode, d->bda_crtc);
	if (d->kind == DISPLAY_VGA_TEXT)
		klog(LOG_INFO, "umbra: display: VGA text %ux%u at 0x%x (%s)\n",
		     d->cols, d->rows, VGA_TEXT_ADDR, why);
	else
		klog(LOG_INFO, "umbra: display: none (%s), serial only\n", why);
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

/* The screen first: whoever sees a line on the serial port finds it on the screen too. */
static void put(const char *s, size_t n)
{
	if (display.kind == DISPLAY_VGA_TEXT)
		for (size_t i = 0; i < n; i++)
			vga_putc(s[i]);
	uart_write(s, n);
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
