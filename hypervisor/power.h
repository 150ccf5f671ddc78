/* Ending the run: QEMU's debug-exit port, ACPI power-off, reset, or halt. */
#ifndef UMBRA_HV_POWER_H
#define UMBRA_HV_POWER_H

#include "cmdline.h"

extern struct hv_options hv_opts;

/*
 * End the run as exit= says (cmdline.h). With exit=qemu the write to QEMU's
 * isa-debug-exit port (0xf4) makes QEMU exit with status 33 for success
 * and 35 for failure; poweroff enters ACPI S5, reset tries the FADT's reset
 * register, port 0xcf9 and the keyboard controller. Whatever does not take
 * effect (no such device) ends in a halt.
 */
void power_off(bool success) __attribute__((noreturn));

#endif
