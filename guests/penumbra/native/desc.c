/*
 * Descriptor tables of the native machine, laid out like umbra's so that
 * the user selectors are the same on both: entry 3 ring-0 code, 4 ring-0
 * data, 5 ring-3 code, 6 ring-3 data, 7 the TSS that gives traps from
 * ring 3 their kernel stack.
 */
#include "../machine.h"
#include "desc.h"

#define GDT_ENTRIES	8
#define SEG_CODE	0x9a	/* present, code, readable */
#define SEG_DATA	0x92	/* present, data, writable */
#define SEG_TSS		0x89	/* present, 32-bit available TSS */
#define GATE_INTR	0x8e	/* present, 32-bit interrupt gate */
#define DPL(n)		((n) << 5)

struct tss {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap;
} __attribute__((packed));

static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(8)));
static uint64_t idt[256] __attribute__((aligned(8)));
static struct tss tss;

/* A flat 4 GiB segment, or a byte-granular one for the TSS. */
static uint64_t segment(uint32_t base, uint32_t limit, unsigned access, unsigned flags)
{
	return (limit & 0xffffull) | ((uint64_t)(base & 0xffffff) << 16) |
	       ((uint64_t)access << 40) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
	       ((uint64_t)flags << 52) | ((uint64_t)(base >> 24) << 56);
}

static uint64_t gate(uint32_t handler, unsigned type)
{
	return (handler & 0xffffull) | ((uint64_t)KERNEL_CS << 16) | ((uint64_t)type << 40) |
	       ((uint64_t)(handler >> 16) << 48);
}

struct __attribute__((packed)) table_reg {
	uint16_t limit;
	uint32_t base;
};

void desc_init(void)
{
	struct table_reg g = { sizeof(gdt) - 1, (uint32_t)gdt }, i = { sizeof(idt) - 1, (uint32_t)idt };

	gdt[KERNEL_CS >> 3] = segment(0, 0xfffff, SEG_CODE, 0xc);
	gdt[KERNEL_DS >> 3] = segment(0, 0xfffff, SEG_DATA, 0xc);
	gdt[USER_CS >> 3] = segment(0, 0xfffff, SEG_CODE | DPL(3), 0xc);
	gdt[USER_DS >> 3] = segment(0, 0xfffff, SEG_DATA | DPL(3), 0xc);
	gdt[TSS_SEL >> 3] = segment((uint32_t)&tss, sizeof(tss) - 1, SEG_TSS, 0);
	tss.ss0 = KERNEL_DS;
	tss.iomap = sizeof(tss);	/* no I/O bitmap: ring 3 has no ports */
	for (unsigned v = 0; v < 256; v++)
		idt[v] = gate(trap_stubs[v], GATE_INTR | (v == VEC_SYSCALL ? DPL(3) : 0));
	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n1:\n\t"
			 "mov %2, %%ds\n\tmov %2, %%es\n\tmov %2, %%ss\n\t"
			 "xor %%eax, %%eax\n\tmov %%eax, %%fs\n\tmov %%eax, %%gs\n\t"
			 "lidt %3\n\t"
			 "ltr %w4"
			 : : "m"(g), "i"(KERNEL_CS), "r"(KERNEL_DS), "m"(i), "r"(TSS_SEL) : "eax", "memory");
}

void desc_set_kstack(uint32_t esp0)
{
	tss.esp0 = esp0;
}
