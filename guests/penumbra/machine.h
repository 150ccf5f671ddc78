/*
 * What the kernel core needs from the machine under it. Two implementations
 * are linked in, one or the other: pv/ (ring 1 on umbra, through
 * hypercalls) and native/ (ring 0 on a PC). The core never asks which.
 */
#ifndef PENUMBRA_MACHINE_H
#define PENUMBRA_MACHINE_H

#include <stdbool.h>
#include <stdint.h>
#include <penumbra/abi.h>
#include "pt_format.h"

/* Kernel virtual address space: all of physical memory mapped at KBASE. */
#define KBASE		0xc0000000u
#define P2V(pa)		((void *)((uintptr_t)(pa) + KBASE))
#define V2P(va)		((uint32_t)(uintptr_t)(va) - KBASE)

#define TIMER_HZ	100

/* Interrupt vectors the core knows: the machine delivers its IRQs there. */
#define VEC_PAGE_FAULT	14
#define VEC_IRQ0	32
#define VEC_SYSCALL	PN_SYSCALL_VECTOR

/* Both machines lay out their GDT alike, so user selectors are the same. */
#define USER_CS		0x2b
#define USER_DS		0x33

/* What the trap stubs push: the general registers, the data segments, the
 * vector, the error code, and the CPU's (or umbra's) own frame. */
struct trapframe {
	uint32_t edi, esi, ebp, oesp, ebx, edx, ecx, eax;
	uint32_t gs, fs, es, ds;
	uint32_t vector, error;
	uint32_t eip, cs, eflags;
	uint32_t esp, ss;		/* only from ring 3 */
};

static inline bool tf_from_user(const struct trapframe *tf)
{
	return (tf->cs & 3) == 3;
}

/* Set up by the machine before kmain(): physical memory [free_start, mem_end). */
struct boot_params {
	uint32_t mem_end;
	uint32_t free_start;
	uint32_t kernel_top;	/* the boot page table (physical) */
	const char *cmdline;
};

void kmain(const struct boot_params *bp) __attribute__((noreturn));

/* --- called by the core --------------------------------------------------- */

void mach_init(void);			/* gates, timer, console; interrupts stay off */
const char *mach_name(void);

/* The interrupt flag (virtual on PV). irq_save returns the old state. */
bool mach_irq_save(void);
void mach_irq_restore(bool on);
/* Wait for an interrupt with interrupts briefly on (the idle loop). */
void mach_idle(void);
/* Leaving a trap: give the frame's interrupt flag back where iret cannot. */
void mach_irq_return(const struct trapframe *tf);
/* An interrupt on a vector from VEC_IRQ0 to VEC_IRQ0 + 15. */
void mach_irq(unsigned vector);

/*
 * Page-table entries: write the entry at `slot` (a kernel pointer into the
 * table of level `level`, mapping `va`) in the address space `top`. The
 * machine learns of it as it needs: PV queues the announcement, native
 * drops a stale TLB entry. mach_pt_commit() sends what is queued; the
 * core calls it before anything runs on the changed tables.
 */
void mach_pte_write(uint32_t top, uint32_t va, unsigned level, void *slot, uint64_t value);
void mach_pt_commit(void);
/*
 * Write-protect for fork: the leaf entry at `slot` (mapping va in `top`),
 * present and writable, loses W and gains `set` (software bits). PV has
 * umbra do it for a run of such entries in one pass, with their shadows,
 * by mach_pt_commit() at the latest; until then the entry may be unchanged.
 */
void mach_pt_protect(uint32_t top, uint32_t va, void *slot, uint64_t set);
/* `top` will not be used again: forget all derived from it (before freeing). */
void mach_pt_release(uint32_t top);
/* Run on `top`, with traps from user mode landing below `kstack_top`. */
void mach_switch(uint32_t top, uint32_t kstack_top);

void mach_console_write(const char *s, uint32_t n);
uint64_t mach_rdtsc(void);
void mach_counters(struct pn_counters *c);
uint32_t mach_fault_address(void);
void mach_poweroff(int status) __attribute__((noreturn));

/* --- called by the machine ------------------------------------------------ */

void trap(struct trapframe *tf);	/* every trap, with interrupts off */
void clock_tick(void);
void console_input(const char *buf, uint32_t n);

/* In trapentry.asm: the stub for each vector, and the way back to a frame. */
extern uint32_t trap_stubs[256];
void trap_return(void) __attribute__((noreturn));

#endif
