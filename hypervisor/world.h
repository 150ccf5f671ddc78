/*
 * The way into a guest and back (world.c): what the hypervisor checks and
 * builds before every entry, and what it does when the Switcher itself
 * faults on the way in.
 */
#ifndef UMBRA_HV_WORLD_H
#define UMBRA_HV_WORLD_H

#include "guest.h"

/*
 * Make r fit to be loaded by the Switcher for g: build the EFLAGS the
 * guest will run with and check cs, ss, eip and the data selectors against
 * the descriptors they name. A frame that cannot be loaded kills g.
 */
void world_prepare(struct guest *g, struct guest_regs *r);

/*
 * The EFLAGS the guest runs with, from what it had: what world_prepare()
 * makes of them, done first on the way in too, so that a virtual
 * interrupt delivered then sees the flags the guest is returned with.
 */
u32 world_eflags(u32 eflags);

/* Enter g with the registers in r (the register page); back on its next trap. */
void world_enter(struct guest *g, struct guest_regs *r);

/* NMIs taken in ring 0 once the Switcher's IDT is loaded, and let pass. */
u32 world_nmis(void);

#endif
