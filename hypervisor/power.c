#include "power.h"
#include "console.h"
#include "../arch/x86/cpu.h"

#define DEBUG_EXIT_PORT	0xf4

struct hv_options hv_opts = { .exit = EXIT_QEMU, .loglevel = LOG_INFO };

void power_off(bool success)
{
	if (hv_opts.exit == EXIT_QEMU)
		outl(DEBUG_EXIT_PORT, success ? 0 : 1);
	kprintf("umbra: halted\n");
	halt_forever();
}
