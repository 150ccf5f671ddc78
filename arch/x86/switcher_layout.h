/*
 * Where the Switcher lives, shared by C and nasm.
 *
 * The Makefile turns this file into switcher_layout.inc for nasm, so it
 * holds only preprocessor lines that both languages read the same way:
 * #if/#else/#endif and #define with plain numbers.
 *
 * The region, at the same virtual address in the hypervisor and in every
 * guest:
 *   +0x0000  Switcher code: the world switch and the 256 trap stubs
 *   +0x1000  register page: the guest's registers; the CPU's ring-0 stack
 *            while the guest runs, so a trap saves them where they belong
 *   +0x2000  read-only page: the GDT, IDT and TSS the CPU uses in both
 *            worlds, and the hypervisor's CR3 for the way back
 * Guests see the code and read-only pages read-only, and never reach any of
 * it: their segments end below SWITCHER_BASE. On an emulator that does not
 * enforce segment limits (QEMU's TCG) ring 1 can read these pages, so they
 * hold nothing the guest does not already know, but for host_cr3, the
 * machine address of the hypervisor's page directory, which no guest
 * interface accepts. The rest of the way back (the stack pointer) is
 * struct switcher_host, in hypervisor memory.
 */
#pragma once

#if UMBRA_PAE
#define SWITCHER_BASE		0xffe00000
#else
#define SWITCHER_BASE		0xffc00000
#endif

#define SW_PAGES		3
#define SW_REGS_PAGE		(SWITCHER_BASE + 0x1000)
#define SW_RO_PAGE		(SWITCHER_BASE + 0x2000)

/* The register page's first word counts NMIs taken inside the Switcher. */
#define SW_NMI_COUNT		0

/* struct guest_regs sits at the top of the register page. */
#define REGS_SIZE		76
#define SW_STACK_TOP		(SW_REGS_PAGE + 0x1000)
#define SW_REGS			(SW_STACK_TOP - REGS_SIZE)

/* Offsets in the read-only page (struct switcher_ro). */
#define RO_HOST_CR3		0
#define RO_TSS			64

/* Offsets in struct switcher_host. */
#define HOST_ESP		0
#define RO_GDT			256
#define RO_IDT			2048

/* Every trap stub, in the Switcher and in the hypervisor, is this long. */
#define TRAP_STUB_SIZE		12
