/*
 * Reflection. When the CPU takes an exception in a guest it comes to the
 * hypervisor, not the guest: every gate of the real IDT leads to the
 * Switcher. If the fault is the guest's own business (a page fault its
 * tables do not allow, a divide by zero, a #GP), we do here what the CPU
 * would have done with the guest's IDT: switch to the guest kernel's stack
 * if the guest was in ring 3, push the frame, and continue at the handler,
 * in ring 1.
 *
 * The frame goes where the CPU would put it, at ss:esp (a TLS stack
 * segment may have a base), and the handler starts with TF, NT, RF and VM
 * clear and AC as it was, as with the CPU.
 *
 * One difference is visible to the guest: EFLAGS.IF in the pushed frame is
 * the guest's virtual interrupt flag (the real one is always set while a
 * guest runs), and entering through an interrupt gate clears the virtual
 * flag, not the real one.
 */
#include "reflect.h"
#include "guest_mem.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/switcher.h"
#include "../arch/x86/switcher_layout.h"
#include "../mm/phys.h"

static bool virtual_if(const struct guest *g)
{
	return g->shared && g->shared->irq_enabled;
}

/*
 * Where ss:esp is, linearly: a TLS stack segment may have a base. (The
 * guest's other stack segments are flat, and SET_TLS refuses 16-bit and
 * expand-down stacks, so esp needs no other care.)
 */
static u32 stack_base(u32 ss)
{
	u32 i = ss >> 3;

	if (i < GDT_TLS0 || i >= GDT_TLS0 + GDT_TLS_COUNT)
		return 0;
	return seg_base(SWITCHER_RO->gdt[i]);
}

bool reflect(struct guest *g, struct guest_regs *r, unsigned vector, bool has_error, u32 error)
{
	gate_desc_t gate = g->idt[vector];
	u32 frame[6], n = 0, ss, esp, flags;
	gva_t bad;

	if (!desc_present(gate))
		return false;
	if ((r->cs & 3) == 3) {
		if (!g->ss1) {
			guest_kill(g, "%s (vector %u) in ring 3 at eip 0x%x, but no kernel stack was set",
				   vector_name(vector), vector, r->eip);
			return true;
		}
		ss = g->ss1, esp = g->esp1;
	} else {
		ss = r->ss, esp = r->esp;
	}
	flags = (r->eflags & ~EFLAGS_IF) | (virtual_if(g) ? EFLAGS_IF : 0);
	if (has_error)
		frame[n++] = error;
	frame[n++] = r->eip;
	frame[n++] = r->cs;
	frame[n++] = flags;
	if ((r->cs & 3) == 3) {
		frame[n++] = r->esp;
		frame[n++] = r->ss;
	}
	esp -= n * 4;
	if (!guest_write_virt(g, stack_base(ss) + esp, frame, n * 4, &bad)) {
		guest_kill(g, "cannot push the %s frame: guest stack 0x%x:0x%x is not writable at 0x%x",
			   vector_name(vector), ss, esp, bad);
		return true;
	}
	r->ss = ss;
	r->esp = esp;
	r->cs = UMBRA_KERNEL_CS;
	r->eip = gate_offset(gate);
	r->eflags &= ~(EFLAGS_TF | EFLAGS_NT | EFLAGS_RF | EFLAGS_VM);	/* as the CPU does; AC stays */
	if (gate_type(gate) == GATE_INTR && g->shared)
		g->shared->irq_enabled = 0;
	return true;
}

void raise_irq(struct guest *g, unsigned irq)
{
	if (!g->shared)
		return;
	g->shared->irq_pending |= 1u << irq;
	if (g->state == GUEST_HALTED)
		g->state = GUEST_RUNNABLE;
}

void deliver_interrupts(struct guest *g, struct guest_regs *r)
{
	u32 pending;
	unsigned irq;

	if (!virtual_if(g) || !(pending = g->shared->irq_pending))
		return;
	irq = __builtin_ctz(pending);
	if (!desc_present(g->idt[UMBRA_IRQ_VECTOR(irq)]))
		return;
	g->shared->irq_pending &= ~(1u << irq);
	reflect(g, r, UMBRA_IRQ_VECTOR(irq), false, 0);
}
