/*
 * Hypercalls: `int $UMBRA_HCALL_VECTOR` from ring 1.
 *
 *   eax = call number, ebx, ecx, edx, esi = arguments
 *   eax = result on return (0 or a positive value on success, a negative
 *         UMBRA_E* code on a refused call); other registers are preserved.
 *
 * Every argument is checked. A call the hypervisor does not know, or an
 * argument that can only be a bug (a buffer outside the guest's memory),
 * ends the guest with a reason on the console that names the call.
 */
#ifndef UMBRA_HYPERCALL_H
#define UMBRA_HYPERCALL_H

#define UMBRA_HCALL_VECTOR	0x82

enum umbra_hcall {
	UMBRA_HC_CONSOLE_WRITE	= 1,	/* ebx = gva of text, ecx = length */
	UMBRA_HC_SHUTDOWN	= 2,	/* ebx = exit code; does not return */
	UMBRA_HC_YIELD		= 3,	/* give the CPU to the next guest */
	UMBRA_HC_SET_SHARED	= 4,	/* ebx = gpa of struct umbra_shared (page aligned) */
	UMBRA_HC_SET_TRAP	= 5,	/* ebx = vector, ecx = low, edx = high dword of a gate */
	UMBRA_HC_SET_STACK	= 6,	/* ebx = ss, ecx = esp, edx = pages (1 or 2) */
	UMBRA_HC_SET_TLS	= 7,	/* ebx = TLS slot 0-2, ecx = low, edx = high dword */
	UMBRA_HC_HALT		= 8,	/* sleep until a virtual interrupt is pending */
	UMBRA_HC_SET_TIMER	= 9,	/* ebx = low, ecx = high dword of ns from now; 0 cancels */
	UMBRA_HC_IRQ_ENABLE	= 10,	/* deliver pending interrupts (after irq_enabled = 1) */
	UMBRA_HC_COUNT
};

/*
 * Interrupt and trap gates (UMBRA_HC_SET_TRAP) are checked: a present gate
 * must be a 32-bit interrupt or trap gate to UMBRA_KERNEL_CS with DPL 1
 * (reachable from the guest kernel) or 3 (also from its processes). A gate
 * with the present bit clear removes the handler. Vectors 2 (NMI), 8
 * (double fault), 18 (machine check) and UMBRA_HCALL_VECTOR are never the
 * guest's; the call returns UMBRA_EINVAL for them. A malformed gate ends
 * the guest.
 *
 * Virtual interrupt n arrives on vector UMBRA_IRQ_VECTOR(n), through the
 * guest's gate for it, when the shared page's irq_enabled is set.
 */
#define UMBRA_IRQ_TIMER		0
#define UMBRA_IRQ_VECTOR(n)	(32 + (n))

/*
 * TLS descriptors (UMBRA_HC_SET_TLS) land in GDT entries 8, 9 and 10
 * (selectors 0x43, 0x4b, 0x53 with RPL 3). A present descriptor must be a
 * code or data segment (no system descriptors or gates), DPL 1 or 3, not
 * conforming, not expand-down, and must end below the Switcher region.
 */
#define UMBRA_TLS_ENTRY0	8
#define UMBRA_TLS_SLOTS		3

/* Error results. */
#define UMBRA_EINVAL	(-22)
#define UMBRA_ENOMEM	(-12)

#endif
