/*
 * The local APIC's timer. The registers are a 4 KiB page of MMIO, mapped
 * uncached in the hypervisor's address space only: no guest's shadow
 * tables ever reach it.
 */
#include "lapic.h"
#include "cpu.h"

#define IA32_APIC_BASE		0x1b
#define APIC_BASE_ENABLE	(1u << 11)
#define APIC_BASE_ADDR		0xfffff000ull
#define IA32_TSC_DEADLINE	0x6e0
#define CPUID1_EDX_APIC		(1u << 9)
#define CPUID1_ECX_TSC_DEADLINE	(1u << 24)

/* Register offsets. */
#define APIC_TPR		0x080
#define APIC_EOI		0x0b0
#define APIC_SVR		0x0f0
#define APIC_LVT_TIMER		0x320
#define APIC_LVT_LINT0		0x350
#define APIC_LVT_LINT1		0x360
#define APIC_LVT_ERROR		0x370
#define APIC_TIMER_INIT		0x380
#define APIC_TIMER_CURRENT	0x390
#define APIC_TIMER_DIVIDE	0x3e0

#define SVR_APIC_ENABLE		(1u << 8)
#define LVT_MASKED		(1u << 16)
#define LVT_DM_NMI		(4u << 8)
#define LVT_DM_EXTINT		(7u << 8)
#define LVT_TIMER_ONESHOT	(0u << 17)
#define LVT_TIMER_TSC_DEADLINE	(2u << 17)
#define TIMER_DIVIDE_BY_1	0xb

#define CALIBRATE_MS		2
#define CALIBRATE_SAMPLES	3

static volatile u32 *apic;
static u32 lvt_timer;		/* what the timer's LVT entry holds */

static u32 reg_read(unsigned off) { return apic[off / 4]; }
static void reg_write(unsigned off, u32 v) { apic[off / 4] = v; }

/*
 * The mode changes seldom. An MMIO write to the LVT and a later WRMSR to
 * the deadline are not ordered by the CPU (SDM vol. 3, 11.5.4.1): a fence
 * keeps the deadline from being armed in the old mode.
 */
static void set_lvt_timer(u32 v)
{
	if (lvt_timer != v) {
		lvt_timer = v;
		reg_write(APIC_LVT_TIMER, v);
		if (v & LVT_TIMER_TSC_DEADLINE)
			__asm__ volatile("mfence" ::: "memory");
	}
}

/* Above 4 GiB the 2-level hypervisor could not map it: treat it as absent. */
paddr_t lapic_phys_base(void)
{
	u64 base;

	if (!(cpuid(1).edx & CPUID1_EDX_APIC))
		return 0;
	base = rdmsr(IA32_APIC_BASE);
	if ((base & ~0xfffull) > 0xfffff000ull)
		return 0;
	/* Firmware may have turned it off; some CPUs then keep it off until reset. */
	if (!(base & APIC_BASE_ENABLE)) {
		wrmsr(IA32_APIC_BASE, base | APIC_BASE_ENABLE);
		if (!(rdmsr(IA32_APIC_BASE) & APIC_BASE_ENABLE))
			return 0;
	}
	return (paddr_t)(base & APIC_BASE_ADDR);
}

/*
 * Virtual-wire mode, written out rather than trusted to the firmware:
 * LINT0 takes the PIC's output as ExtINT, LINT1 NMIs; errors are masked.
 */
void lapic_init(volatile void *regs)
{
	apic = regs;
	reg_write(APIC_TPR, 0);
	reg_write(APIC_SVR, SVR_APIC_ENABLE | VEC_APIC_SPURIOUS);
	reg_write(APIC_LVT_LINT0, LVT_DM_EXTINT);
	reg_write(APIC_LVT_LINT1, LVT_DM_NMI);
	reg_write(APIC_LVT_ERROR, LVT_MASKED | VEC_APIC_SPURIOUS);
	reg_write(APIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_1);
	lvt_timer = LVT_MASKED | VEC_APIC_TIMER;
	reg_write(APIC_LVT_TIMER, lvt_timer);
}

static u32 timer_sample(u32 tsc_khz)
{
	u64 start, end;
	u32 left;

	set_lvt_timer(LVT_MASKED | LVT_TIMER_ONESHOT | VEC_APIC_TIMER);
	start = rdtsc();
	reg_write(APIC_TIMER_INIT, 0xffffffffu);
	while (rdtsc() - start < (u64)tsc_khz * CALIBRATE_MS)
		;
	left = reg_read(APIC_TIMER_CURRENT);
	end = rdtsc();
	reg_write(APIC_TIMER_INIT, 0);
	return (u32)((u64)(0xffffffffu - left) * tsc_khz / (end - start));
}

/* The TSC is known by now; the median of three samples rides out an SMI. */
u32 lapic_timer_khz(u32 tsc_khz)
{
	u32 s[CALIBRATE_SAMPLES], t;

	for (unsigned i = 0; i < CALIBRATE_SAMPLES; i++)
		s[i] = timer_sample(tsc_khz);
	for (unsigned i = 1; i < CALIBRATE_SAMPLES; i++)
		for (unsigned j = i; j && s[j - 1] > s[j]; j--) {
			t = s[j];
			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	return s[CALIBRATE_SAMPLES / 2];
}

bool lapic_has_tsc_deadline(void)
{
	return cpuid(1).ecx & CPUID1_ECX_TSC_DEADLINE;
}

void lapic_timer_oneshot(u32 count)
{
	set_lvt_timer(LVT_TIMER_ONESHOT | VEC_APIC_TIMER);
	reg_write(APIC_TIMER_INIT, count ? count : 1);
}

/* The mode is set once; then each deadline is one MSR write. */
void lapic_timer_deadline(u64 tsc)
{
	set_lvt_timer(LVT_TIMER_TSC_DEADLINE | VEC_APIC_TIMER);
	wrmsr(IA32_TSC_DEADLINE, tsc ? tsc : 1);
}

void lapic_eoi(void)
{
	reg_write(APIC_EOI, 0);
}
