/* Thin wrappers for the instructions C cannot express. */
#ifndef UMBRA_ARCH_CPU_H
#define UMBRA_ARCH_CPU_H

#include "../../lib/types.h"

/* CR0 and CR4 bits (Intel SDM vol. 3, 2.5). */
#define CR0_PE		(1u << 0)
#define CR0_MP		(1u << 1)
#define CR0_EM		(1u << 2)
#define CR0_TS		(1u << 3)
#define CR0_NE		(1u << 5)
#define CR0_WP		(1u << 16)
#define CR0_AM		(1u << 18)
#define CR0_PG		(1u << 31)
#define CR4_PSE		(1u << 4)
#define CR4_PAE		(1u << 5)
#define CR4_PGE		(1u << 7)
#define CR4_OSFXSR	(1u << 9)

/* EFLAGS bits. */
#define EFLAGS_RESERVED	(1u << 1)
#define EFLAGS_TF	(1u << 8)
#define EFLAGS_IF	(1u << 9)
#define EFLAGS_IOPL	(3u << 12)
#define EFLAGS_NT	(1u << 14)
#define EFLAGS_RF	(1u << 16)
#define EFLAGS_VM	(1u << 17)
#define EFLAGS_AC	(1u << 18)

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }

static inline u8 inb(u16 port)
{
	u8 v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u16 inw(u16 port)
{
	u16 v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u32 inl(u16 port)
{
	u32 v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u64 rdtsc(void)
{
	u64 v;

	__asm__ volatile("rdtsc" : "=A"(v));
	return v;
}

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(u32 leaf)
{
	struct cpuid_regs r;

	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(0));
	return r;
}

/*
 * The CPU's physical-address width, MAXPHYADDR (Intel SDM vol. 3, 4.1.4):
 * CPUID leaf 0x80000008 where it exists. Without it the SDM says "generally
 * 36 with PAE"; umbra trusts 36 only with PSE-36, since a CPU can have PAE
 * and only 32 bits (QEMU's qemu32 model does: a PAE entry naming a frame
 * above 4 GiB is a reserved-bit fault there).
 */
static inline unsigned cpu_phys_bits(void)
{
	if (cpuid(0x80000000).eax >= 0x80000008)
		return cpuid(0x80000008).eax & 0xff;
	return cpuid(1).edx & (1u << 17) ? 36 : 32;
}

static inline u64 rdmsr(u32 msr)
{
	u64 v;

	__asm__ volatile("rdmsr" : "=A"(v) : "c"(msr));
	return v;
}

static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" :: "c"(msr), "A"(v) : "memory");
}

#define DEFINE_CR(n)							\
static inline u32 read_cr##n(void)					\
{									\
	u32 v;								\
	__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));		\
	return v;							\
}									\
static inline void write_cr##n(u32 v)					\
{									\
	__asm__ volatile("mov %0, %%cr" #n :: "r"(v) : "memory");	\
}
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline void invlpg(u32 va)
{
	__asm__ volatile("invlpg (%0)" :: "r"(va) : "memory");
}

static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
/* Let pending interrupts in for one instruction; the hypervisor runs with IF clear. */
static inline void irq_window(void) { __asm__ volatile("sti; nop; cli" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }

static inline u32 read_ebp(void)
{
	u32 v;

	__asm__ volatile("mov %%ebp, %0" : "=r"(v));
	return v;
}

static inline void __attribute__((noreturn)) halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

#endif
