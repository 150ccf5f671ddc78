/*
 * The end of the run: power off through QEMU's debug-exit port, with the
 * run's result as its status, or halt.
 */
#include "power.h"
#include "console.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/debug_exit.h"

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
