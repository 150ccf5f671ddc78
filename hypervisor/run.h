/* The run loop: guests take the CPU in turn until none is left. */
#ifndef UMBRA_HV_RUN_H
#define UMBRA_HV_RUN_H

#include "../lib/types.h"

void run_guests(void);

/* TSC just before the first guest instruction ran (0 until then). */
extern u64 first_guest_tsc;

/* NMIs that arrived while a guest ran. */
extern u32 guest_nmis;

/* TSC at the hypervisor's first instruction (boot/multiboot.asm). */
extern u64 boot_tsc;

#endif
