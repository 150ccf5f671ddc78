/*
 * The run loop. A guest keeps the CPU until it yields, halts, ends or is
 * preempted: each turn round the loop is one world switch into the guest
 * and one trap back, and the trap says what the guest needs (a hypercall,
 * a shadow page, an exception of its own handed back to it) or that the
 * hypervisor needed the CPU (a real interrupt).
 *
 * While a guest has the CPU its registers live in the Switcher's register
 * page, where the trap saved them, and its gates, TLS entries and kernel
 * stack are in the Switcher's tables; all of it is exchanged only when
 * another guest takes the CPU.
 */
#include "run.h"
#include "console.h"
#include "fpu.h"
#include "guest.h"
#include "guest_desc.h"
#include "hypercall.h"
#include "reflect.h"
#include "sched.h"
#include "world.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/desc.h"
#include "../arch/x86/switcher.h"
#include "../arch/x86/trap.h"
#include "../lib/panic.h"

u64 first_guest_tsc;
u32 guest_nmis;

static void unhandled(struct guest *g, const struct guest_regs *r, u32 cr2)
{
	if (r->trapnum == VEC_PF)
		guest_kill(g, "unhandled page fault (vector 14) at eip 0x%x, address 0x%x, error code 0x%x",
			   r->eip, cr2, r->errcode);
	else if (vector_has_error_code(r->trapnum))
		guest_kill(g, "unhandled %s (vector %u) at eip 0x%x, error code 0x%x",
			   vector_name(r->trapnum), r->trapnum, r->eip, r->errcode);
	else
		guest_kill(g, "unhandled %s (vector %u) at eip 0x%x",
			   vector_name(r->trapnum), r->trapnum, r->eip);
}

/* An exception that is the guest's own: hand it to its handler, or end it. */
static void guest_exception(struct guest *g, struct guest_regs *r, u32 cr2)
{
	unsigned v = r->trapnum;

	g->exits[EXIT_REFLECTED]++;
	if (v == VEC_PF && g->shared)
		g->shared->cr2 = cr2;
	if (!reflect(g, r, v, vector_has_error_code(v), r->errcode))
		unhandled(g, r, cr2);
}

static void handle_trap(struct guest *g, struct guest_regs *r)
{
	unsigned v = r->trapnum;
	u32 cr2;

	if (v >= VEC_COUNT)	/* the stubs push 0-255: a misread frame */
		guest_kill(g, "trap frame with vector %u", v);
	switch (v) {
	case UMBRA_HCALL_VECTOR:
		g->exits[EXIT_HYPERCALL]++;
		hypercall(g, r);
		return;
	case VEC_PF:
		cr2 = read_cr2();
		switch (shadow_fault(g, cr2, r->errcode, &r->errcode)) {
		case FAULT_FIXED:
			g->exits[EXIT_SHADOW_FAULT]++;
			break;
		case FAULT_GUEST:
			guest_exception(g, r, cr2);
			break;
		case FAULT_KILLED:
			break;
		}
		return;
	case VEC_NM:
		g->exits[EXIT_FPU]++;
		fpu_trap(g);
		return;
	case VEC_NMI:
		guest_nmis++;
		return;
	case VEC_DF:
	case VEC_MC:
		panic("%s while guest \"%s\" ran", vector_name(v), g->name);
	}
	if (v >= VEC_IRQ0 && v < VEC_IRQ0 + 16) {
		g->exits[EXIT_INTERRUPT]++;
		irq_dispatch(v);
	} else {
		guest_exception(g, r, 0);
	}
}

static void enter(struct guest *g, struct guest_regs *r)
{
	r->eflags = world_eflags(r->eflags);
	deliver_interrupts(g, r);
	if (!first_guest_tsc) {
		first_guest_tsc = rdtsc();
		/* Instructions only under QEMU's -icount shift=0, which umbra cannot tell. */
		klog(LOG_INFO, "umbra: boot to first guest: %llu TSC ticks\n", first_guest_tsc - boot_tsc);
	}
	world_enter(g, r);
}

/*
 * One time slice. A hypercall that has more work than one piece may hold
 * the CPU for leaves the guest inside the call (hypercall_pending); the
 * rest is done here, a piece at a time, with a window for interrupts
 * between pieces so the timer can end the slice, before the guest runs
 * again.
 */
static void run_slice(struct guest *g, struct guest_regs *r)
{
	while (g->state == GUEST_RUNNABLE && !g->yielded && !sched_should_preempt()) {
		if (hypercall_pending(g)) {
			hypercall_continue(g, r);
			irq_window();
			continue;
		}
		enter(g, r);
		if (g->state == GUEST_RUNNABLE)
			handle_trap(g, r);
	}
}

/*
 * A guest killed inside its work (guest_kill) unwinds to here: nothing it
 * was doing goes on, and the loop ends because it is no longer runnable.
 */
static void run_vcpu(struct guest *g)
{
	struct guest_regs *r = SWITCHER_REGS;
	unwind_t unwind;
	u64 start = rdtsc();

	current_guest = g;
	*r = g->regs;
	guest_desc_load(g);
	fpu_enter(g);
	sched_start_slice();
	g->yielded = false;
	if (!unwind_set(unwind)) {
		g->unwind = &unwind;
		run_slice(g, r);
	}
	g->unwind = NULL;
	g->regs = *r;
	g->run_tsc += rdtsc() - start;
	current_guest = NULL;
}

static void reap(void)
{
	for (unsigned i = 0; i < MAX_GUESTS; i++)
		if (guests[i].state == GUEST_DYING)
			guest_teardown(&guests[i]);
}

/* Nothing to run but someone asleep: wait for the next interrupt. */
static void idle(void)
{
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

void run_guests(void)
{
	struct guest *g;

	for (;;) {
		reap();
		g = sched_pick();
		if (g)
			run_vcpu(g);
		else if (sched_any_halted())
			idle();
		else
			break;
	}
}
