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
	UMBRA_HC_COUNT
};

/* Error results. */
#define UMBRA_EINVAL	(-22)
#define UMBRA_ENOMEM	(-12)

#endif
