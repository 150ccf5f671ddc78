/*
 * The end of the run: QEMU's debug-exit port (the run's result as QEMU's
 * exit status), ACPI power-off, a reset, or a halt; exit= says which, and
 * by default it is the debug-exit port where QEMU's device is there, and
 * otherwise power-off after success and a halt after failure, so that a
 * real PC's screen keeps what went wrong.
 */
#include "power.h"
#include "acpi.h"
#include "console.h"
#include "timer.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/debug_exit.h"
#include "../lib/string.h"

/* PM1 control (ACPI 6.x, 4.8.3.2.1). */
#define PM1_SCI_EN		(1u << 0)
#define PM1_SLP_TYP_SHIFT	10
#define PM1_SLP_EN		(1u << 13)
#define ACPI_ENABLE_POLLS	1000000
/* The PCI reset control register of Intel chipsets, and the keyboard controller's reset. */
#define RESET_CONTROL_PORT	0xcf9
#define RESET_CONTROL_SYS	0x02
#define RESET_CONTROL_CPU	0x04
#define KBC_STATUS		0x64
#define KBC_INPUT_FULL		0x02
#define KBC_PULSE_RESET		0xfe
#define KBC_POLLS		100000
#define SETTLE_MS		500
#define SETTLE_TSC_UNCALIBRATED	2000000000ull

struct hv_options hv_opts = { .exit = EXIT_AUTO, .loglevel = LOG_INFO, .slice_ms = 10 };

/*
 * Port 0xf4 may be anything on a machine that is not QEMU, so it is read
 * only where the ACPI tables are QEMU's own firmware's (OEM ID "BOCHS ",
 * which Bochs shares); there the debug-exit device reads as 0, where an
 * empty port reads all ones.
 */
static bool qemu_debug_exit_present(void)
{
	return acpi.fadt && !memcmp(acpi.oem, "BOCHS ", 6) && inb(DEBUG_EXIT_PORT) == 0;
}

/* Firmware that starts in legacy mode hands PM1 control over on request. */
static void enter_acpi_mode(void)
{
	if ((inw(acpi.pm1a_cnt) & PM1_SCI_EN) || !acpi.smi_cmd || !acpi.acpi_enable)
		return;
	outb(acpi.smi_cmd, acpi.acpi_enable);
	for (unsigned i = 0; i < ACPI_ENABLE_POLLS && !(inw(acpi.pm1a_cnt) & PM1_SCI_EN); i++)
		;
}

/*
 * The chipset acts a moment after the write (QEMU's main loop, a real
 * power sequencer), and the CPU runs on meanwhile: give it half a second
 * before saying it did not work. Before the TSC is calibrated, a count.
 */
static void settle(void)
{
	u64 start = rdtsc(), wait = tsc_khz ? (u64)tsc_khz * SETTLE_MS : SETTLE_TSC_UNCALIBRATED;

	while (rdtsc() - start < wait)
		;
}

static void acpi_power_off(void)
{
	if (!acpi.pm1a_cnt || !acpi.s5) {
		kprintf("umbra: cannot power off: %s\n", !acpi.fadt ? "no ACPI FADT" :
			!acpi.pm1a_cnt ? "the FADT names no PM1 control port" :
			"no \\_S5 sleep type in the DSDT");
		return;
	}
	kprintf("umbra: ACPI power-off (S5)\n");
	console_flush();	/* the machine ends at the port write */
	enter_acpi_mode();
	outw(acpi.pm1a_cnt, (inw(acpi.pm1a_cnt) & ~(7u << PM1_SLP_TYP_SHIFT)) |
	     acpi.slp_typa << PM1_SLP_TYP_SHIFT | PM1_SLP_EN);
	if (acpi.pm1b_cnt)
		outw(acpi.pm1b_cnt, (inw(acpi.pm1b_cnt) & ~(7u << PM1_SLP_TYP_SHIFT)) |
		     acpi.slp_typb << PM1_SLP_TYP_SHIFT | PM1_SLP_EN);
	settle();
	kprintf("umbra: the machine did not power off\n");
}

/* The FADT's reset register, then the chipset's, then the keyboard controller's line. */
static void reset(void)
{
	kprintf("umbra: resetting\n");
	console_flush();
	if (acpi.reset) {
		outb(acpi.reset_port, acpi.reset_value);
		settle();
	}
	outb(RESET_CONTROL_PORT, RESET_CONTROL_SYS);
	outb(RESET_CONTROL_PORT, RESET_CONTROL_SYS | RESET_CONTROL_CPU);
	settle();
	for (unsigned i = 0; i < KBC_POLLS && (inb(KBC_STATUS) & KBC_INPUT_FULL); i++)
		;
	outb(KBC_STATUS, KBC_PULSE_RESET);
	settle();
	kprintf("umbra: the machine did not reset\n");
}

void power_off(bool success)
{
	enum exit_mode mode = hv_opts.exit;

	console_flush();	/* QEMU ends at the port write: nothing may still wait for the UART */
	if (mode == EXIT_AUTO)
		mode = qemu_debug_exit_present() ? EXIT_QEMU : success ? EXIT_POWEROFF : EXIT_HALT;
	switch (mode) {
	case EXIT_QEMU:
		outl(DEBUG_EXIT_PORT, success ? DEBUG_EXIT_SUCCESS : DEBUG_EXIT_FAILURE);
		break;
	case EXIT_POWEROFF:
		acpi_power_off();
		break;
	case EXIT_RESET:
		reset();
		break;
	case EXIT_AUTO:
	case EXIT_HALT:
		break;
	}
	kprintf("umbra: halted\n");
	console_flush();
	halt_forever();
}
