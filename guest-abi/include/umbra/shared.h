/*
 * The shared page: the state a guest and the hypervisor both read and
 * write, so that the common operations cost no hypercall.
 *
 * The guest registers it once with UMBRA_HC_SET_SHARED, after filling in
 * kernel_base and syscall_vector, which the hypervisor reads (and checks)
 * only then. Until a page is registered the guest gets no interrupts.
 */
#ifndef UMBRA_SHARED_H
#define UMBRA_SHARED_H

#include <stdint.h>

struct umbra_shared {
	/* Written by the guest. */
	uint32_t irq_enabled;	/* the virtual interrupt flag: cli is "= 0", sti "= 1" */
	uint32_t kernel_base;	/* start of the kernel's mappings, shared by all page
				   tables: 0 for none, else a multiple of 4 MiB
				   (2-level) or 2 MiB (PAE) */
	uint32_t syscall_vector; /* vector that traps straight to the guest, 0 for none */

	/* Written by the hypervisor. */
	uint32_t irq_pending;	/* bit n set: virtual interrupt n is waiting */
	uint32_t cr2;		/* faulting address of the last reflected page fault */
	uint32_t tsc_khz;	/* TSC ticks per millisecond */
	uint64_t world_switches; /* times this guest has trapped to the hypervisor */

	/*
	 * Written by the hypervisor, for benchmarks: the expensive things it
	 * did for this guest, counted since the guest started.
	 */
	uint64_t hypercalls;	/* hypercalls, each batched call counted too */
	uint64_t cr3_loads;	/* CR3 loads for the guest (two a world switch: in and back) */
	uint64_t desc_loads;	/* GDT, IDT and TSS loads (none: they stay loaded) */
	uint64_t shadow_faults;	/* page faults the shadow tables absorbed */
	uint64_t reflected;	/* exceptions handed to the guest's own handlers */
};

/*
 * After a "sti", a guest calls UMBRA_HC_IRQ_ENABLE if irq_pending is
 * non-zero, so that what arrived while it had interrupts off is delivered.
 */

#endif
