/* Measuring the TSC's rate at boot (the clock everything else reads). */
#ifndef UMBRA_HV_TSC_H
#define UMBRA_HV_TSC_H

#include "../lib/types.h"

/*
 * TSC ticks per millisecond, from the best reference the machine has
 * (PIT, ACPI PM timer, CPUID), with one line saying which and how well
 * they agree; 0 if there is none. Needs acpi_init() first.
 */
u32 tsc_calibrate(void);

#endif
