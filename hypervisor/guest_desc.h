/*
 * What a guest declares about its CPU state: its interrupt gates, its TLS
 * descriptors, its kernel stack and its shared page. Each hypercall here
 * checks the guest's values against the rules in guest-abi/include/umbra/ and
 * then mirrors them into the Switcher's tables if the guest is the one on
 * the CPU.
 */
#ifndef UMBRA_HV_GUEST_DESC_H
#define UMBRA_HV_GUEST_DESC_H

#include "guest.h"

s32 hc_set_trap(struct guest *g, const u32 a[4]);
s32 hc_set_shared(struct guest *g, const u32 a[4]);
s32 hc_set_stack(struct guest *g, const u32 a[4]);
bool guest_stack_set(struct guest *g, u32 ss, u32 esp, u32 pages);
s32 hc_set_tls(struct guest *g, const u32 a[4]);

/* Install g's gates, TLS entries and kernel stack in the Switcher's tables. */
void guest_desc_load(const struct guest *g);

#endif
