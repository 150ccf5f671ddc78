/*
 * An exception in the hypervisor is a bug in the hypervisor: say everything
 * that could help find it, then stop. Interrupts go to irq_dispatch().
 */
#include "trap.h"
#include "cpu.h"
#include "desc.h"
#include "../../hypervisor/console.h"
#include "../../lib/panic.h"

u32 host_nmis;

/*
 * An NMI is not the hypervisor's bug: watchdogs, buttons and parity
 * errors raise them on real machines. Count it and go on.
 */
void host_trap(struct host_frame *f)
{
	if (f->trapnum >= VEC_IRQ0) {
		irq_dispatch(f->trapnum);
		return;
	}
	if (f->trapnum == VEC_NMI) {
		host_nmis++;
		return;
	}
	kprintf("umbra: hypervisor exception: %s (vector %u), error code 0x%x\n",
		vector_name(f->trapnum), f->trapnum, f->errcode);
	kprintf("  eip %08x  cs %04x  eflags %08x  cr2 %08x  cr3 %08x\n",
		f->eip, f->cs, f->eflags, read_cr2(), read_cr3());
	kprintf("  eax %08x  ebx %08x  ecx %08x  edx %08x\n", f->eax, f->ebx, f->ecx, f->edx);
	kprintf("  esi %08x  edi %08x  ebp %08x  esp %08x\n", f->esi, f->edi, f->ebp,
		(u32)(uintptr_t)(f + 1));
	kprintf("  at the fault: eip %08x,", f->eip);
	backtrace_from(f->ebp);
	panic("exception %u in the hypervisor at eip 0x%x", f->trapnum, f->eip);
}
