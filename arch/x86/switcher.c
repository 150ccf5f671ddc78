/*
 * The C side of the Switcher: its pages and the page tables that map them
 * in both worlds, and the GDT, IDT and TSS a guest runs under.
 */
#include "switcher.h"
#include "cpu.h"
#include "paging.h"
#include "../../mm/frame.h"
#include "../../mm/phys.h"
#include "../../lib/string.h"
#include "../../guest-abi/include/umbra/hypercall.h"

_Static_assert(__builtin_offsetof(struct switcher_ro, host_cr3) == RO_HOST_CR3, "layout");
_Static_assert(__builtin_offsetof(struct switcher_host, esp) == HOST_ESP, "layout");
_Static_assert(__builtin_offsetof(struct switcher_ro, tss) == RO_TSS, "layout");
_Static_assert(__builtin_offsetof(struct switcher_ro, gdt) == RO_GDT, "layout");
_Static_assert(__builtin_offsetof(struct switcher_ro, idt) == RO_IDT, "layout");
_Static_assert(sizeof(struct switcher_ro) <= PAGE_SIZE, "layout");
_Static_assert(RO_GDT + 8 * GDT_ENTRIES <= RO_IDT, "layout");
_Static_assert(SWITCHER_BASE == (UMBRA_PAE ? UMBRA_SWITCHER_BASE_PAE : UMBRA_SWITCHER_BASE_2LEVEL),
	       "guest ABI Switcher base");

extern char _switcher_load[], switcher_stub_table[];

static mfn_t guest_pt = MFN_NONE;
struct switcher_host switcher_host;

mfn_t switcher_guest_pt(void)
{
	return guest_pt;
}

static void map(void *pt, unsigned page, mfn_t mfn, pte_t flags)
{
	pte_set(&pt_native, pt, page, ((pte_t)mfn << PAGE_SHIFT) | flags | PTE_P | PTE_A | PTE_D);
}

mfn_t switcher_alloc(void)
{
	mfn_t code = (mfn_t)((uintptr_t)_switcher_load >> PAGE_SHIFT);
	mfn_t regs = frame_alloc_zeroed(FRAME_SWITCHER, NO_GUEST);
	mfn_t ro = frame_alloc_zeroed(FRAME_SWITCHER, NO_GUEST);
	mfn_t host_pt = frame_alloc_zeroed(FRAME_SWITCHER, NO_GUEST);
	unsigned first = pt_index(&pt_native, pt_native.leaf, SWITCHER_BASE);

	guest_pt = frame_alloc_zeroed(FRAME_SWITCHER, NO_GUEST);
	if (regs == MFN_NONE || ro == MFN_NONE || host_pt == MFN_NONE || guest_pt == MFN_NONE)
		return MFN_NONE;
	map(mfn_to_virt(host_pt), first, code, 0);
	map(mfn_to_virt(host_pt), first + 1, regs, PTE_W);
	map(mfn_to_virt(host_pt), first + 2, ro, PTE_W);
	map(mfn_to_virt(guest_pt), first, code, 0);
	map(mfn_to_virt(guest_pt), first + 1, regs, PTE_W);
	map(mfn_to_virt(guest_pt), first + 2, ro, 0);
	return host_pt;
}

/*
 * The GDT, IDT and TSS in the Switcher's read-only page become the ones
 * the CPU uses, in both worlds, for good: a world switch then reloads none
 * of them. Every vector of the IDT leads to a Switcher stub. The hypercall
 * gate has DPL 1 so the guest kernel may raise it with int; all others
 * have DPL 0, so an int from the guest for them is a #GP, until a guest's
 * own gates are installed (guest_desc.c). The selectors are those of the
 * boot GDT, so the segment registers' descriptors do not change; they are
 * reloaded anyway, as the SDM asks after a new GDT.
 */
void switcher_init(u32 host_cr3)
{
	struct switcher_ro *ro = SWITCHER_RO;
	u32 stubs = (u32)(uintptr_t)switcher_stub_table;
	struct desc_ptr gdt = { 0, sizeof(ro->gdt) - 1, SW_RO_PAGE + RO_GDT };
	struct desc_ptr idt = { 0, sizeof(ro->idt) - 1, SW_RO_PAGE + RO_IDT };

	ro->host_cr3 = host_cr3;
	memset(&ro->tss, 0, sizeof(ro->tss));
	ro->tss.ss0 = HV_DS;
	ro->tss.esp0 = SW_STACK_TOP;
	ro->tss.iomap_base = sizeof(ro->tss);
	desc_fill_gdt(ro->gdt, (const struct tss *)(SW_RO_PAGE + RO_TSS));
	for (unsigned v = 0; v < VEC_COUNT; v++)
		ro->idt[v] = gate_desc(stubs + v * TRAP_STUB_SIZE, HV_CS, GATE_INTR,
				       v == UMBRA_HCALL_VECTOR ? 1 : 0);
	lgdt(&gdt);
	__asm__ volatile("ljmp %0, $1f\n1:\n"
			 "mov %1, %%ds\nmov %1, %%es\nmov %1, %%ss\n"
			 "mov %1, %%fs\nmov %1, %%gs"
			 :: "i"(HV_CS), "r"((u32)HV_DS));
	lidt(&idt);
	ltr(TSS_SEL);
}
