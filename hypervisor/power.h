/* Ending the run: power off under QEMU, or halt. */
#ifndef UMBRA_HV_POWER_H
#define UMBRA_HV_POWER_H

#include "cmdline.h"

extern struct hv_options hv_opts;

/*
 * With exit=qemu, write to QEMU's isa-debug-exit port (0xf4): QEMU then
 * exits with status 33 for success and 35 for failure. If that port is not
 * there (real hardware), or with exit=halt, stop the CPU.
 */
void power_off(bool success) __attribute__((noreturn));

#endif
