/*
 * Hypercalls: `int $UMBRA_HCALL_VECTOR` from ring 1.
 *
 *   eax = call number, ebx, ecx, edx, esi = arguments
 *   eax = result on return (0 or a positive value on success, a negative
 *         UMBRA_E* code on a refused call); other registers are preserved,
 *         except that SET_TLS nulls a data segment register naming the slot
 *         it changes when the new descriptor could not be loaded there.
 *   EFLAGS: the guest's CF PF AF ZF SF TF DF OF AC ID are kept; IF is 1,
 *         IOPL 0, and NT RF VM VIF VIP 0 on every return to the guest.
 *
 * Every argument is checked. A call the hypervisor does not know, or an
 * argument that can only be a bug (a buffer outside the guest's memory),
 * ends the guest with a reason on the console that names the call.
 */
#ifndef UMBRA_HYPERCALL_H
#define UMBRA_HYPERCALL_H

#include <stdint.h>

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
	UMBRA_HC_NEW_PGTABLE	= 11,	/* ebx = gpa of the new top-level table (the guest's CR3) */
	UMBRA_HC_SET_PTE	= 12,	/* ebx = top gpa, ecx = va, edx = low, esi = high dword */
	UMBRA_HC_SET_PMD	= 13,	/* PAE only: as SET_PTE, for the directory entry of va */
	UMBRA_HC_SET_PGD	= 14,	/* ebx = top gpa, ecx = index, edx = low, esi = high dword */
	UMBRA_HC_FLUSH_TLB	= 15,	/* ebx = UMBRA_FLUSH_*, ecx = va for UMBRA_FLUSH_ONE */
	UMBRA_HC_MULTICALL	= 16,	/* ebx = gva of struct umbra_multicall[], ecx = count */
	UMBRA_HC_RELEASE_PGTABLE = 17,	/* ebx = gpa of a top-level table no longer in use */
	UMBRA_HC_CONSOLE_READ	= 18,	/* ebx = gva of a buffer, ecx = its size; bytes read */
	UMBRA_HC_UPDATE_RANGE	= 19,	/* ebx = top gpa, ecx = va, edx = pages rewritten in place */
	UMBRA_HC_SWITCH		= 20,	/* ebx = top gpa, ecx = kernel esp (0: keep), edx = pages */
	UMBRA_HC_PROTECT_RANGE	= 21,	/* ebx = top gpa, ecx = va, edx = pages, esi = bits 9-11 to set */
	UMBRA_HC_MMU_UPDATE	= 22,	/* ebx = gva of struct umbra_mmu_update[], ecx = count */
	UMBRA_HC_COUNT
};

/*
 * Page tables. A guest builds its tables in its own memory, in the
 * hypervisor's paging format, with guest-physical addresses, and tells the
 * hypervisor what it did: it writes an entry and then passes the same value
 * to SET_PTE / SET_PMD / SET_PGD, naming the top-level table it belongs to.
 * A change the guest does not announce is seen after a FLUSH_TLB that
 * covers it. Unlike a CPU's TLB, the shadows of other cached top-level
 * tables survive a switch (NEW_PGTABLE does not flush), and FLUSH_ONE and
 * FLUSH_USER act on the current table only: announce a change to another
 * table with SET_PTE naming that table, or use FLUSH_ALL. Entries above the
 * kernel address declared in the shared page must be the same in every
 * top-level table.
 *
 * Every entry is checked before it is used: present entries must map a
 * frame below the guest's memory size, use no reserved bits and no large
 * pages; directory and top-level entries take only table flags; nothing may
 * map the Switcher region. A bad entry ends the guest, naming it.
 *
 * The guest's kernel runs in ring 1 with CR0.WP semantics: read-only means
 * read-only to the kernel as well. The hypervisor keeps the guest's
 * accessed and dirty bits true.
 */
/*
 * UPDATE_RANGE and PROTECT_RANGE cover at most this many pages (64 MiB): a
 * longer range is several calls, which a MULTICALL can carry.
 */
#define UMBRA_RANGE_MAX		16384

/*
 * MMU_UPDATE: leaf entries named by where they live, as Xen's mmu_update
 * names them. Each `ptr` is the guest-physical address of an entry of a
 * leaf table, aligned to the entry size; `val` is stored there, and every
 * shadow built from that table follows. At most UMBRA_MMU_UPDATE_MAX per
 * call.
 */
struct umbra_mmu_update {
	uint64_t ptr;
	uint64_t val;
};

#define UMBRA_MMU_UPDATE_MAX	4096

#define UMBRA_FLUSH_ONE		0	/* the mapping of one address */
#define UMBRA_FLUSH_USER	1	/* everything below the kernel address */
#define UMBRA_FLUSH_ALL		2	/* every mapping of every table */

/*
 * One call of a batch. The hypervisor runs the calls in order, each with
 * the same checks and effects as the call made alone (against the guest's
 * real registers), and writes each result back; it stops early if the
 * guest is ended (the calls after are not run) or halts (the calls after
 * the HALT are not run, and the result is still the count). Any call but
 * MULTICALL itself may be batched; at most UMBRA_MULTICALL_MAX per batch.
 * A long batch is run in pieces of about 100 us, with other guests
 * perhaps running in between; the caller sees only the time it took.
 */
struct umbra_multicall {
	uint32_t op;
	uint32_t args[4];
	int32_t result;
};

#define UMBRA_MULTICALL_MAX	4096

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
#define UMBRA_IRQ_CONSOLE	1	/* console input is waiting (UMBRA_HC_CONSOLE_READ) */
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
