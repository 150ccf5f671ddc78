/*
 * Handing exceptions and virtual interrupts to a guest, as the CPU would
 * have if the guest were alone on the machine.
 */
#ifndef UMBRA_HV_REFLECT_H
#define UMBRA_HV_REFLECT_H

#include "guest.h"

/*
 * Deliver `vector` through the guest's own gate: push on the guest's
 * ring-1 stack exactly the frame the CPU would (switching to the kernel
 * stack if the guest was in ring 3; error code if `has_error`) and go on at
 * the handler. Returns false if the guest has no gate for it; the guest is
 * killed if its stack cannot take the frame.
 */
bool reflect(struct guest *g, struct guest_regs *r, unsigned vector, bool has_error, u32 error);

/* Deliver the lowest pending virtual interrupt, if the guest allows it. */
void deliver_interrupts(struct guest *g, struct guest_regs *r);

/* Make virtual interrupt irq pending, and wake the guest if it sleeps. */
void raise_irq(struct guest *g, unsigned irq);

#endif
