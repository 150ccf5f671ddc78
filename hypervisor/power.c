/*
 * The end of the run: power off through QEMU's debug-exit port, with the
 * run's result as its status, or halt.
 */
#include "power.h"
#include "console.h"
#include "../arch/x86/cpu.h"

#define DEBUG_EXIT_PORT	0xf4
/*
 * QEMU exits with (value << 1) | 1. Its own errors exit with 1, so
 * success must not be 0 here: 0x10 gives 33, 0x11 gives 35.
 */
#define DEBUG_EXIT_SUCCESS	0x10
#define DEBUG_EXIT_FAILURE	0x11

struct hv_options hv_opts = { .exit = EXIT_QEMU, .loglevel = LOG_INFO, .slice_ms = 10 };

void power_off(bool success)
{
	console_flush();	/* QEMU ends at the port write: nothing may still wait for the UART */
	if (hv_opts.exit == EXIT_QEMU)
		outl(DEBUG_EXIT_PORT, success ? DEBUG_EXIT_SUCCESS : DEBUG_EXIT_FAILURE);
	kprintf("umbra: halted\n");
	console_flush();
	halt_forever();
}
