/* The C side of the Switcher (see switcher.asm and switcher_layout.h). */
#ifndef UMBRA_ARCH_SWITCHER_H
#define UMBRA_ARCH_SWITCHER_H

#include "desc.h"
#include "regs.h"

/* The Switcher's read-only page, at SW_RO_PAGE in both worlds. */
struct switcher_ro {
	u32 host_cr3;
	u8 pad0[RO_TSS - sizeof(u32)];
	struct tss tss;
	u8 pad1[RO_GDT - RO_TSS - sizeof(struct tss)];
	seg_desc_t gdt[GDT_ENTRIES];
	u8 pad2[RO_IDT - RO_GDT - sizeof(seg_desc_t) * GDT_ENTRIES];
	gate_desc_t idt[VEC_COUNT];
};

/* The way back, kept where only the hypervisor's page tables reach. */
struct switcher_host {
	u32 esp;
};
extern struct switcher_host switcher_host;

#define SWITCHER_RO	((struct switcher_ro *)SW_RO_PAGE)
#define SWITCHER_REGS	((struct guest_regs *)SW_REGS)

/*
 * Set up the Switcher's pages and the two page tables that map them: the
 * hypervisor's (everything writable) and the guests' (code and read-only
 * page read-only). Returns the hypervisor's table, which hvmap_init()
 * links at the top of the address space, or MFN_NONE if frames ran out.
 */
mfn_t switcher_alloc(void);

/* Fill the read-only page and load its GDT, IDT and TSS; once paging is on. */
void switcher_init(u32 host_cr3);

/* The page table a guest's shadow links at the Switcher's slot. */
mfn_t switcher_guest_pt(void);

/*
 * Enter the guest whose registers are in the register page, with its
 * shadow CR3; return when it traps. The result is SWITCHER_REGS for a
 * trap from the guest. Anything else is the failsafe: the Switcher itself
 * faulted (or took an NMI) in ring 0 on the way in, and the result points
 * at that fault's frame, which shares struct guest_regs's layout up to
 * eflags (hypervisor/world.c handles it).
 */
struct guest_regs *switcher_to_guest(u32 shadow_cr3);

/* The instructions of the way in that load guest state, for the failsafe. */
extern char switcher_window[], switcher_pop_gs[], switcher_pop_fs[], switcher_pop_es[],
	    switcher_pop_ds[], switcher_iret[];

#endif
