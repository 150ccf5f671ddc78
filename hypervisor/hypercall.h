/* Hypercall dispatch (the calls themselves are in guest-abi/umbra/hypercall.h). */
#ifndef UMBRA_HV_HYPERCALL_H
#define UMBRA_HV_HYPERCALL_H

#include "guest.h"

/* Carry out the call in r->eax for g; the result goes back in r->eax. */
void hypercall(struct guest *g, struct guest_regs *r);

/* The call's name, for statistics ("?" for a number with no call). */
const char *hcall_name(u32 nr);

#endif
