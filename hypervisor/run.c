/*
 * The run loop. A guest keeps the CPU until it yields or ends: each turn
 * round the loop is one world switch into the guest and one trap back,
 * and the trap says what the guest needs (a hypercall, a shadow page,
 * nothing at all for an interrupt that was the hypervisor's).
 *
 * While a guest has the CPU its registers live in the Switcher's register
 * page, where the trap saved them; they are copied to the guest only when
 * another guest takes the CPU.
 */
#include "run.h"
#include "console.h"
#include "guest.h"
#include "hypercall.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/desc.h"
#include "../arch/x86/switcher.h"
#include "../arch/x86/trap.h"
#include "../guest-abi/include/umbra/hypercall.h"
#include "../lib/panic.h"

u64 first_guest_tsc;

static void guest_fault(struct guest *g, const struct guest_regs *r, u32 cr2)
{
	if (r->trapnum == VEC_PF)
		guest_kill(g, "%s at eip 0x%x, address 0x%x, error code 0x%x",
			   vector_name(r->trapnum), r->eip, cr2, r->errcode);
	else if (vector_has_error_code(r->trapnum))
		guest_kill(g, "%s (vector %u) at eip 0x%x, error code 0x%x",
			   vector_name(r->trapnum), r->trapnum, r->eip, r->errcode);
	else
		guest_kill(g, "%s (vector %u) at eip 0x%x",
			   vector_name(r->trapnum), r->trapnum, r->eip);
}

static void handle_trap(struct guest *g, struct guest_regs *r)
{
	u32 cr2;

	switch (r->trapnum) {
	case UMBRA_HCALL_VECTOR:
		hypercall(g, r);
		return;
	case VEC_PF:
		cr2 = read_cr2();
		if (!shadow_fault(g, cr2, r->errcode))
			guest_fault(g, r, cr2);
		return;
	case VEC_NMI:
		kprintf("umbra: NMI while guest \"%s\" ran; ignored\n", g->name);
		return;
	case VEC_DF:
	case VEC_MC:
		panic("%s while guest \"%s\" ran", vector_name(r->trapnum), g->name);
	}
	if (r->trapnum >= VEC_IRQ0 && r->trapnum < VEC_IRQ0 + 16)
		irq_dispatch(r->trapnum);
	else
		guest_fault(g, r, 0);
}

static void run_vcpu(struct guest *g)
{
	struct guest_regs *r = SWITCHER_REGS;

	current_guest = g;
	*r = g->regs;
	g->yielded = false;
	while (g->state == GUEST_RUNNABLE && !g->yielded) {
		if (!first_guest_tsc) {
			first_guest_tsc = rdtsc();
			if (!first_guest_tsc)
				first_guest_tsc = 1;
		}
		switcher_to_guest(shadow_cr3(g));
		g->world_switches++;
		handle_trap(g, r);
	}
	g->regs = *r;
	current_guest = NULL;
	if (g->state == GUEST_DEAD)
		guest_destroy(g);
}

/* Round-robin: the next runnable guest after the one that ran last. */
static struct guest *pick_next(unsigned *last)
{
	for (unsigned n = 1; n <= MAX_GUESTS; n++) {
		unsigned i = (*last + n) % MAX_GUESTS;

		if (guests[i].state == GUEST_RUNNABLE) {
			*last = i;
			return &guests[i];
		}
	}
	return NULL;
}

void run_guests(void)
{
	unsigned last = MAX_GUESTS - 1;
	struct guest *g;

	while ((g = pick_next(&last)))
		run_vcpu(g);
}
