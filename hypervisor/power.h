/* Ending the run: power off under QEMU, or halt. */
#ifndef UMBRA_HV_POWER_H
#define UMBRA_HV_POWER_H

#include "cmdline.h"

/*
 * QEMU's isa-debug-exit device (iobase 0xf4) exits with (value << 1) | 1.
 * Its own errors exit with 1, so success must not be 0 here.
 */
#define DEBUG_EXIT_PORT		0xf4
#define DEBUG_EXIT_SUCCESS	0x10	/* QEMU exits 33 */
#define DEBUG_EXIT_FAILURE	0x11	/* 35 */
#define DEBUG_EXIT_CPU		0x12	/* 37: this CPU cannot run umbra (cpu_check.c) */

extern struct hv_options hv_opts;

/*
 * With exit=qemu, write to QEMU's isa-debug-exit port (0xf4): QEMU then
 * exits with status 33 for success and 35 for failure. If that port is not
 * there (real hardware), or with exit=halt, stop the CPU.
 */
void power_off(bool success) __attribute__((noreturn));

#endif
