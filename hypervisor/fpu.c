/*
 * The FPU, lazily: a guest's x87/SSE state is loaded only when it first
 * uses the FPU in a slice (#NM), and saved when another guest does.
 * FXSAVE is always there (cpu_check.c refuses a CPU without it); SSE may
 * not be (a Pentium II), and then neither CR4.OSXMMEXCPT nor MXCSR is
 * touched.
 */
#include "fpu.h"
#include "../arch/x86/cpu.h"
#include "../lib/string.h"

#define CR4_OSXMMEXCPT	(1u << 10)
#define CPUID_SSE	(1u << 25)	/* CPUID.01H:EDX */
#define FCW_DEFAULT	0x037f		/* all x87 exceptions masked, 64-bit precision */
#define MXCSR_DEFAULT	0x1f80		/* all SSE exceptions masked */

static const struct guest *owner;
static u8 clean[512] __attribute__((aligned(16)));

static void fxsave(u8 *area) { __asm__ volatile("fxsave %0" : "=m"(*(u8 (*)[512])area)); }
static void fxrstor(const u8 *area) { __asm__ volatile("fxrstor %0" :: "m"(*(const u8 (*)[512])area)); }

static u32 cpuid_edx(u32 leaf)
{
	u32 a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf));
	return d;
}

/*
 * A fresh guest starts from a clean image, not from fninit: fninit leaves
 * the SSE registers as the last guest left them.
 */
void fpu_init(void)
{
	bool sse = cpuid_edx(1) & CPUID_SSE;

	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
	/* FXSR means CR4.OSFXSR exists; OSXMMEXCPT is reserved without SSE. */
	write_cr4(read_cr4() | CR4_OSFXSR | (sse ? CR4_OSXMMEXCPT : 0));
	memset(clean, 0, sizeof(clean));
	*(u16 *)&clean[0] = FCW_DEFAULT;
	if (sse)
		*(u32 *)&clean[24] = MXCSR_DEFAULT;
	write_cr0(read_cr0() | CR0_TS);
}

void fpu_guest_init(struct guest *g)
{
	memcpy(g->fpu, clean, sizeof(g->fpu));
}

void fpu_enter(const struct guest *g)
{
	if (g == owner)
		__asm__ volatile("clts");
	else
		write_cr0(read_cr0() | CR0_TS);
}

void fpu_trap(struct guest *g)
{
	__asm__ volatile("clts");
	if (owner == g)
		return;
	if (owner)
		fxsave(((struct guest *)owner)->fpu);
	fxrstor(g->fpu);
	owner = g;
}

void fpu_forget(const struct guest *g)
{
	if (owner == g)
		owner = NULL;
}
