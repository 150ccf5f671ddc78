/* The hypervisor's own GDT, IDT and TSS. */
#include "desc.h"
#include "cpu.h"
#include "trap.h"

seg_desc_t host_gdt[GDT_ENTRIES] __attribute__((aligned(8)));
static gate_desc_t host_idt[VEC_COUNT] __attribute__((aligned(8)));
static struct tss host_tss;

static const char *const names[] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow",
	"bound range exceeded", "invalid opcode", "device not available",
	"double fault", "coprocessor segment overrun", "invalid TSS",
	"segment not present", "stack-segment fault", "general protection",
	"page fault", "reserved", "x87 floating-point error",
	"alignment check", "machine check", "SIMD floating-point exception",
	"virtualization exception", "control protection",
};

const char *vector_name(unsigned v)
{
	if (v < ARRAY_SIZE(names))
		return names[v];
	return v < VEC_IRQ0 ? "reserved exception" : "interrupt";
}

/*
 * Guest segments are flat from 0 but end below the Switcher region: that
 * limit, not the page tables, is what keeps ring 1 (a supervisor ring for
 * paging) away from the Switcher's pages.
 */
void desc_fill_gdt(seg_desc_t *gdt, const struct tss *tss)
{
	const u8 code = SEG_PRESENT | SEG_S | SEG_CODE | SEG_RW | SEG_ACCESSED;
	const u8 data = SEG_PRESENT | SEG_S | SEG_RW | SEG_ACCESSED;
	const u32 guest_limit = SWITCHER_BASE - 1;

	gdt[GDT_NULL] = 0;
	gdt[GDT_HV_CODE] = seg_desc(0, 0xffffffff, code, SEG_DB);
	gdt[GDT_HV_DATA] = seg_desc(0, 0xffffffff, data, SEG_DB);
	gdt[GDT_GUEST_CODE] = seg_desc(0, guest_limit, code | SEG_DPL(1), SEG_DB);
	gdt[GDT_GUEST_DATA] = seg_desc(0, guest_limit, data | SEG_DPL(1), SEG_DB);
	gdt[GDT_USER_CODE] = seg_desc(0, guest_limit, code | SEG_DPL(3), SEG_DB);
	gdt[GDT_USER_DATA] = seg_desc(0, guest_limit, data | SEG_DPL(3), SEG_DB);
	gdt[GDT_TSS] = seg_desc((u32)(uintptr_t)tss, sizeof(*tss) - 1,
				SEG_PRESENT | SYS_TSS_AVAIL, 0);
	for (unsigned i = 0; i < GDT_TLS_COUNT; i++)
		gdt[GDT_TLS0 + i] = 0;
}

void desc_init(void)
{
	struct desc_ptr gp = { 0, sizeof(host_gdt) - 1, (u32)(uintptr_t)host_gdt };
	struct desc_ptr ip = { 0, sizeof(host_idt) - 1, (u32)(uintptr_t)host_idt };

	host_tss.ss0 = HV_DS;
	host_tss.iomap_base = sizeof(host_tss);
	desc_fill_gdt(host_gdt, &host_tss);
	for (unsigned v = 0; v < VEC_COUNT; v++)
		host_idt[v] = gate_desc(host_trap_stubs + v * TRAP_STUB_SIZE,
					HV_CS, GATE_INTR, 0);
	lgdt(&gp);
	__asm__ volatile("ljmp %0, $1f\n1:\n"
			 "mov %1, %%ds\nmov %1, %%es\nmov %1, %%ss\n"
			 "mov %1, %%fs\nmov %1, %%gs"
			 :: "i"(HV_CS), "r"((u32)HV_DS));
	lidt(&ip);
	ltr(TSS_SEL);
	/*
	 * The CPU comes out of reset with an LDT at linear address 0, 64 KiB
	 * long, and firmware and bootloaders leave it so. In a guest's address
	 * space that is guest memory: a selector with TI set would read the
	 * guest's own "descriptors" there, call gates to ring 0 among them.
	 * A null LDT makes every such selector fault.
	 */
	__asm__ volatile("lldt %w0" :: "r"(0));
}
