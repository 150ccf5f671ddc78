/*
 * Every trap comes through here with interrupts off (PV's system-call gate
 * is a trap gate, so the flag is cleared first). Whatever a process does
 * ends, at worst, in that process being killed; a fault in the kernel
 * itself is a kernel bug and panics.
 */
#include "kernel.h"
#include "machine.h"
#include "proc.h"
#include "syscall.h"

#define PF_WRITE	0x2
#define PF_PRESENT	0x1

static const char *const exception_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
	"invalid opcode", "device not available", "double fault", "coprocessor overrun",
	"invalid TSS", "segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 error", "alignment check", "machine check",
	"SIMD error",
};

static const char *trap_name(unsigned vector)
{
	if (vector < 32 && exception_names[vector])
		return exception_names[vector];
	return "unexpected trap";
}

static void kernel_fault(struct trapframe *tf, uint32_t addr)
{
	panic("%s (vector %u, error 0x%x) in the kernel at eip 0x%x, address 0x%x, pid %d",
	      trap_name(tf->vector), tf->vector, tf->error, tf->eip, addr,
	      curproc ? curproc->pid : 0);
}

static void page_fault(struct trapframe *tf)
{
	uint32_t addr = mach_fault_address();
	int r;

	if (!tf_from_user(tf))
		kernel_fault(tf, addr);
	r = vm_fault(&curproc->vm, addr, tf->error & PF_WRITE);
	if (r == -PN_ENOMEM)
		proc_kill_fault("out of memory on a page fault", addr);
	else if (r < 0)
		proc_kill_fault(tf->error & PF_PRESENT ? (tf->error & PF_WRITE ?
				"page fault (write to read-only page)" : "page fault (protection)") :
				"page fault (unmapped address)", addr);
}

/* What the trap path did, for counters(): the same on both machines. */
static struct {
	uint64_t traps_user, traps_kernel, syscalls, irets_user, irets_kernel, user_faults;
} count;

void trap_counters(struct pn_counters *c)
{
	c->traps_user = count.traps_user;
	c->traps_kernel = count.traps_kernel;
	c->syscalls = count.syscalls;
	c->irets_user = count.irets_user;
	c->irets_kernel = count.irets_kernel;
	c->user_faults = count.user_faults;
}

void trap_resume(struct trapframe *tf);

/* The way back to any frame: pending kills and preemption first, for user mode. */
void trap_resume(struct trapframe *tf)
{
	if (tf_from_user(tf)) {
		if (curproc->killed)
			proc_exit(PN_STATUS_KILLED);
		if (need_resched)
			yield();
		mach_pt_commit();
		count.irets_user++;
	} else {
		count.irets_kernel++;
	}
	mach_irq_return(tf);
}

void trap(struct trapframe *tf)
{
	mach_irq_save();
	if (tf_from_user(tf)) {
		count.traps_user++;
		count.syscalls += tf->vector == VEC_SYSCALL;
		count.user_faults += tf->vector == VEC_PAGE_FAULT;
	} else {
		count.traps_kernel++;
	}
	if (tf->vector == VEC_SYSCALL && tf_from_user(tf))
		syscall(tf);
	else if (tf->vector >= VEC_IRQ0 && tf->vector < VEC_IRQ0 + 16)
		mach_irq(tf->vector);
	else if (tf->vector == VEC_PAGE_FAULT)
		page_fault(tf);
	else if (tf_from_user(tf))
		proc_kill_fault(trap_name(tf->vector), tf->eip);
	else
		kernel_fault(tf, tf->eip);
	trap_resume(tf);
}
