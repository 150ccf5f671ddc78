/*
 * Hypercall dispatch (the calls themselves are listed, with their
 * arguments and promises, in guest-abi/include/umbra/hypercall.h).
 */
#ifndef UMBRA_HV_HYPERCALL_H
#define UMBRA_HV_HYPERCALL_H

#include "guest.h"

/*
 * A handler gets the guest and the call's four arguments (ebx, ecx, edx,
 * esi, or one MULTICALL entry's args) and returns what the guest sees in
 * eax. It checks every argument before it acts; a guest_kill() inside it
 * does not return.
 */
typedef s32 hcall_fn(struct guest *g, const u32 a[4]);

/* Two 32-bit arguments, low first, as one 64-bit value. */
static inline u64 hc_arg64(const u32 a[4], unsigned low)
{
	return ((u64)a[low + 1] << 32) | a[low];
}

/*
 * Carry out the call in r->eax for g; the result goes back in r->eax. A
 * call with more work than one piece of CPU time is left pending instead:
 * the guest stays inside it, and the run loop finishes it with
 * hypercall_continue() before the guest runs again.
 */
void hypercall(struct guest *g, struct guest_regs *r);
void hypercall_continue(struct guest *g, struct guest_regs *r);

static inline bool hypercall_pending(const struct guest *g)
{
	return g->mc_done != 0;
}

/* The call's name, for statistics ("?" for a number with no call). */
const char *hcall_name(u32 nr);

/* The longest time one hypercall (or one piece of one) held the CPU. */
struct hcall_longest {
	u64 tsc;
	u32 nr;
	u8 guest;
};
extern struct hcall_longest hcall_longest;

#endif
