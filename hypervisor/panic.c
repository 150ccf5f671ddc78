/*
 * panic(): a bug in the hypervisor itself. Say what and where, with the
 * call chain and the guest that was running, and stop.
 */
#include <stdarg.h>
#include "console.h"
#include "guest.h"
#include "power.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/switcher.h"
#include "../lib/format.h"
#include "../lib/panic.h"

extern char _image_start[], _image_end[];

/* Follow saved frame pointers while they stay inside the hypervisor. */
void backtrace_from(unsigned long ebp)
{
	u32 *fp = (u32 *)(uintptr_t)ebp;

	kprintf("  backtrace:");
	for (int depth = 0; fp && depth < 16; depth++) {
		if ((uintptr_t)fp < (uintptr_t)_image_start || (uintptr_t)fp >= (uintptr_t)_image_end)
			break;
		kprintf(" %08x", fp[1]);
		fp = (u32 *)(uintptr_t)fp[0];
	}
	kprintf("\n");
}

void panic(const char *fmt, ...)
{
	static bool in_panic;
	char msg[200];
	va_list ap;

	cli();
	if (in_panic)
		halt_forever();
	in_panic = true;
	console_unbuffered();	/* what waits goes out first, then all of this, whatever happens next */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kprintf("umbra: PANIC: %s\n", msg);
	if (current_guest)
		kprintf("  current guest: \"%s\" (id %u), eip 0x%x\n", current_guest->name,
			current_guest->id, SWITCHER_REGS->eip);
	else
		kprintf("  current guest: none\n");
	backtrace_from(read_ebp());
	power_off(false);
}
