/*
 * Runtime helpers for guests that act as kernels: interrupt gates, the
 * shared page and its virtual interrupt flag, the kernel stack, TLS, time,
 * and entering ring 3.
 */
#ifndef UMBRA_KERNEL_H
#define UMBRA_KERNEL_H

#include <stdbool.h>
#include <stdint.h>
#include "runtime.h"
#include "shared.h"

#define UMBRA_GATE_INTR	0xe	/* clears the virtual interrupt flag */
#define UMBRA_GATE_TRAP	0xf

/* The shared page, page-aligned, in the runtime's data. */
extern struct umbra_shared umbra_shared;

/* Register umbra_shared, declaring the kernel address and syscall vector. */
long umbra_shared_init(uint32_t kernel_base, uint32_t syscall_vector);

/* A gate descriptor, as UMBRA_HC_SET_TRAP takes it. */
static inline uint64_t umbra_gate(uint32_t handler, unsigned type, unsigned dpl)
{
	return (handler & 0xffffull) | ((uint64_t)UMBRA_KERNEL_CS << 16) |
	       ((uint64_t)(type | (dpl << 5) | 0x80) << 40) | ((uint64_t)(handler >> 16) << 48);
}

static inline long umbra_set_gate(unsigned vector, uint64_t gate)
{
	return umbra_hcall(UMBRA_HC_SET_TRAP, vector, (uint32_t)gate, (uint32_t)(gate >> 32), 0);
}

static inline long umbra_set_trap(unsigned vector, void (*handler)(void), unsigned type, unsigned dpl)
{
	return umbra_set_gate(vector, umbra_gate((uint32_t)(uintptr_t)handler, type, dpl));
}

static inline long umbra_set_stack(uint32_t esp, unsigned pages)
{
	return umbra_hcall(UMBRA_HC_SET_STACK, UMBRA_KERNEL_DS, esp, pages, 0);
}

static inline long umbra_set_tls(unsigned slot, uint64_t desc)
{
	return umbra_hcall(UMBRA_HC_SET_TLS, slot, (uint32_t)desc, (uint32_t)(desc >> 32), 0);
}

static inline long umbra_set_timer(uint64_t ns)
{
	return umbra_hcall(UMBRA_HC_SET_TIMER, (uint32_t)ns, (uint32_t)(ns >> 32), 0, 0);
}

static inline long umbra_halt(void)
{
	return umbra_hcall(UMBRA_HC_HALT, 0, 0, 0, 0);
}

/* The virtual interrupt flag: plain memory, no hypercall unless work waits. */
static inline void umbra_cli(void)
{
	umbra_shared.irq_enabled = 0;
	__asm__ volatile("" ::: "memory");
}

static inline void umbra_sti(void)
{
	__asm__ volatile("" ::: "memory");
	umbra_shared.irq_enabled = 1;
	__asm__ volatile("" ::: "memory");
	if (umbra_shared.irq_pending)
		umbra_hcall(UMBRA_HC_IRQ_ENABLE, 0, 0, 0, 0);
}

static inline uint64_t umbra_rdtsc(void)
{
	uint64_t v;

	__asm__ volatile("rdtsc" : "=A"(v));
	return v;
}

/* Nanoseconds since an arbitrary start, from the TSC. */
static inline uint64_t umbra_now_ns(void)
{
	return umbra_rdtsc() * 1000000ull / umbra_shared.tsc_khz;
}

/*
 * The trap frame the guest's handlers see (the runtime's stubs push the
 * vector and the general registers under what the CPU, or umbra, pushed).
 * esp and ss are there only when the trap came from ring 3.
 */
struct umbra_frame {
	uint32_t edi, esi, ebp, esp_dummy, ebx, edx, ecx, eax;
	uint32_t vector, error;
	uint32_t eip, cs, eflags;
	uint32_t esp, ss;
};

/*
 * Catch-all handlers: umbra_trap_stub(v) is the address of an entry stub
 * for vector v that builds a struct umbra_frame and calls
 * umbra_trap_handler(frame), which the guest defines; when it returns, the
 * stub sets the virtual interrupt flag again if the frame's EFLAGS.IF says
 * so (delivering what is pending), restores the (possibly changed) frame
 * and irets.
 */
uint32_t umbra_trap_stub(unsigned vector);
void umbra_trap_handler(struct umbra_frame *f);	/* the runtime's default exits with 254 */

/*
 * Run fn in ring 3 on the given stack and return here when some handler
 * calls umbra_user_return(value); returns that value.
 */
uint32_t umbra_run_user(void (*fn)(void), uint32_t user_stack_top);
void umbra_user_return(uint32_t value) __attribute__((noreturn));

#endif
