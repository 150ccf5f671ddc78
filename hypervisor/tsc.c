/*
 * The TSC's rate, measured once at boot against whatever reference the
 * machine has.
 *
 * Every reference lies sometimes. The PIT may not be there at all (QEMU's
 * pit=off, some Hyper-V and laptop setups), or may read but not count; an
 * SMI, or an emulator's thread losing the host CPU, can stretch any one
 * measurement. So each reference is sampled several times; a sample whose
 * own readings took too long to make, or in which the counter jumped, is
 * thrown away; a reference that never moves within a bounded wait is
 * declared absent; and the median of the good samples is taken, those far
 * from it dropped. The PIT, the ACPI PM timer and the HPET are tried in
 * turn and check each other (pick() says who is believed); CPUID's leaf
 * 0x15 (or 0x16) is a last resort and a further check. With no reference
 * at all, the caller stops with a message rather than run with time that
 * means nothing.
 */
#include "tsc.h"
#include "acpi.h"
#include "console.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/pit.h"
#include "../mm/hvmap.h"
#include "../mm/phys.h"
#include "../lib/format.h"
#include "../lib/string.h"

#define SAMPLE_MS	5
#define MAIN_SAMPLES	5	/* for the first reference that counts */
#define CHECK_SAMPLES	3	/* for each further one */
#define MAX_SAMPLES	7
/* The fastest TSC believed: it bounds every wait before the rate is known. */
#define MAX_TSC_KHZ	20000000ull
#define DEAD_READS	10000
/* Brackets adding up to more than 1/500 of the sample spoil it. */
#define MAX_BRACKET_PART	500
/* Samples farther than 1 % from the median are outliers; references 2 % apart disagree. */
#define OUTLIER_PERMILLE	10
#define AGREE_PERMILLE		20

/* HPET registers (IA-PC HPET specification 1.0a, 2.3). */
#define HPET_PERIOD		0x004	/* femtoseconds a tick: the capabilities' high half */
#define HPET_CONFIG		0x010
#define HPET_ENABLE		(1u << 0)
#define HPET_COUNTER		0x0f0	/* the main counter's low half */
#define HPET_MAX_PERIOD		100000000u	/* 100 ns, the specification's bound */
#define HPET_MIN_PERIOD		1000000u	/* 1 GHz: nothing faster exists */

struct refclock {
	u32 hz;
	u32 mask;		/* the counter's width */
	bool down;		/* counts down */
	u32 (*read)(void);
};

enum sample_result { SAMPLE_OK, SAMPLE_SPOILED, SAMPLE_DEAD };

struct estimate {
	u32 khz;		/* 0: the reference is not usable */
	unsigned samples;
	u32 spread_permille;
};

static volatile u32 *hpet;

static u32 hpet_read(void)
{
	return hpet[HPET_COUNTER / 4];
}

static u32 pm_timer_read(void)
{
	return inl(acpi.pm_timer);
}

static u32 pm_timer_mask(void)
{
	return acpi.pm_timer_32 ? 0xffffffffu : 0xffffffu;
}

/* A reading of the counter, with the TSC just before and just after. */
struct reading {
	u64 before, after;
	u32 count;
};

static struct reading read_ref(const struct refclock *c)
{
	struct reading r;

	r.before = rdtsc();
	r.count = c->read();
	r.after = rdtsc();
	return r;
}

/*
 * One sample: the TSC over SAMPLE_MS of the reference. A counter that
 * stays still over DEAD_READS reads is not there: a port read takes well
 * over 100 ns on any bus, so that is at least a hundred ticks of the
 * slowest reference. A counter that moves, but too slowly, is bounded in
 * TSC ticks by the fastest TSC there is, four times over. A step between
 * two reads of more than a quarter of the counter's range could have
 * wrapped unseen: the sample is spoiled.
 *
 * The TSC is taken at the middle of each read's bracket, so the error is
 * at most half the two brackets: a PIT read (three port accesses) takes
 * a few microseconds on real chipsets, and 10 us over 5 ms is 0.1 %.
 */
static enum sample_result sample(const struct refclock *c, u32 *khz)
{
	u32 want = c->hz / 1000 * SAMPLE_MS, elapsed = 0, count, still = 0;
	u64 limit = MAX_TSC_KHZ * SAMPLE_MS * 4, tsc, bracket;
	struct reading start = read_ref(c), now = start;

	while (elapsed < want) {
		now = read_ref(c);
		count = (c->down ? start.count - now.count : now.count - start.count) & c->mask;
		if (count < elapsed || count - elapsed > c->mask / 4)
			return SAMPLE_SPOILED;	/* went back, or leapt */
		elapsed = count;
		if (!elapsed && ++still == DEAD_READS)
			return SAMPLE_DEAD;
		if (now.after - start.before > limit)
			return elapsed ? SAMPLE_SPOILED : SAMPLE_DEAD;
	}
	tsc = (now.before + now.after) / 2 - (start.before + start.after) / 2;
	bracket = (start.after - start.before) + (now.after - now.before);
	if (!tsc || bracket * MAX_BRACKET_PART > tsc)
		return SAMPLE_SPOILED;
	*khz = (u32)(tsc * c->hz / elapsed / 1000);
	return SAMPLE_OK;
}

static void sort(u32 *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j && v[j - 1] > v[j]; j--) {
			u32 t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

static bool near(u32 a, u32 b, u32 permille)
{
	u64 d = a > b ? a - b : b - a;

	return d * 1000 <= (u64)b * permille;
}

/*
 * `want` good samples out of at most twice as many tries; a dead counter
 * ends it at once. The median of the good ones, the outliers dropped,
 * needs a majority of the wanted samples left to count.
 */
static struct estimate measure(const struct refclock *c, unsigned want)
{
	struct estimate e = { 0, 0, 0 };
	u32 v[MAX_SAMPLES], kept[MAX_SAMPLES], median;
	unsigned n = 0, k = 0;

	for (unsigned tries = 0; tries < 2 * want && n < want; tries++) {
		enum sample_result r = sample(c, &v[n]);

		if (r == SAMPLE_DEAD)
			return e;
		if (r == SAMPLE_OK)
			n++;
	}
	if (n * 2 <= want)
		return e;
	sort(v, n);
	median = v[n / 2];
	for (unsigned i = 0; i < n; i++)
		if (near(v[i], median, OUTLIER_PERMILLE))
			kept[k++] = v[i];
	if (k * 2 <= want || !median)
		return e;
	e.khz = kept[k / 2];
	e.samples = k;
	e.spread_permille = (u32)((u64)(kept[k - 1] - kept[0]) * 1000 / e.khz);
	return e;
}

static struct estimate measure_pit(unsigned samples)
{
	static const struct refclock pit = { PIT_HZ, 0xffff, true, pit_counter_read };
	struct estimate e;

	pit_counter_start();
	e = measure(&pit, samples);
	pit_counter_stop();
	return e;
}

static struct estimate measure_pm_timer(unsigned samples)
{
	struct refclock pm = { ACPI_PM_TIMER_HZ, pm_timer_mask(), false, pm_timer_read };
	struct estimate none = { 0, 0, 0 };

	return acpi.pm_timer ? measure(&pm, samples) : none;
}

/* The HPET counts only while enabled; its configuration is given back after. */
static struct estimate measure_hpet(unsigned samples)
{
	struct refclock c = { 0, 0xffffffffu, false, hpet_read };
	struct estimate none = { 0, 0, 0 }, e;
	u32 period, config;

	if (!acpi.hpet || !hvmap_mmio(acpi.hpet))
		return none;
	hpet = phys_to_virt(acpi.hpet);
	period = hpet[HPET_PERIOD / 4];
	if (period < HPET_MIN_PERIOD || period > HPET_MAX_PERIOD)
		return none;
	c.hz = (u32)(1000000000000000ull / period);
	config = hpet[HPET_CONFIG / 4];
	hpet[HPET_CONFIG / 4] = config | HPET_ENABLE;
	e = measure(&c, samples);
	hpet[HPET_CONFIG / 4] = config;
	return e;
}

/*
 * CPUID leaf 0x15 gives the TSC's ratio to the core crystal, and the
 * crystal's rate where the CPU knows it; leaf 0x16 the base frequency in
 * MHz, which the TSC runs at on the CPUs that have it. Both are what the
 * CPU was made for, not measured.
 */
static u32 cpuid_tsc_khz(const char **leaf)
{
	u32 max = cpuid(0).eax;
	struct cpuid_regs r;

	if (max >= 0x15) {
		r = cpuid(0x15);
		if (r.eax && r.ebx && r.ecx) {
			*leaf = "CPUID 0x15";
			return (u32)((u64)r.ecx * r.ebx / r.eax / 1000);
		}
	}
	if (max >= 0x16) {
		r = cpuid(0x16);
		if (r.eax & 0xffff) {
			*leaf = "CPUID 0x16";
			return (r.eax & 0xffff) * 1000;
		}
	}
	return 0;
}

static u32 mhz(u32 khz)
{
	return (khz + 500) / 1000;
}

/* "; PM timer agrees" or "; PM timer says 2600 MHz", appended to line. */
static void say_check(char *line, size_t size, const char *name, u32 khz, u32 best)
{
	size_t n = strlen(line);

	if (!khz || n >= size)
		return;
	if (near(khz, best, AGREE_PERMILLE))
		snprintf(line + n, size - n, "; %s agrees", name);
	else
		snprintf(line + n, size - n, "; %s says %u MHz", name, mhz(khz));
}

struct reference {
	const char *name;
	struct estimate e;
};

enum { REF_PIT, REF_PM_TIMER, REF_HPET, REF_COUNT };

/*
 * The first reference (PIT, PM timer, HPET) that another agrees with;
 * where none agree, the fixed crystals before the PIT: the PM timer, then
 * the HPET.
 */
static struct reference *pick(struct reference *ref)
{
	static const unsigned fallback[] = { REF_PM_TIMER, REF_HPET, REF_PIT };

	for (unsigned i = 0; i < REF_COUNT; i++)
		for (unsigned j = 0; j < REF_COUNT && ref[i].e.khz; j++)
			if (j != i && ref[j].e.khz && near(ref[j].e.khz, ref[i].e.khz, AGREE_PERMILLE))
				return &ref[i];
	for (unsigned i = 0; i < REF_COUNT; i++)
		if (ref[fallback[i]].e.khz)
			return &ref[fallback[i]];
	return NULL;
}

u32 tsc_calibrate(void)
{
	struct reference ref[REF_COUNT] = { { "PIT", {0} }, { "PM timer", {0} }, { "HPET", {0} } }, *best;
	const char *leaf = NULL;
	u32 cpu = cpuid_tsc_khz(&leaf);
	char line[200];

	ref[REF_PIT].e = measure_pit(MAIN_SAMPLES);
	ref[REF_PM_TIMER].e = measure_pm_timer(ref[REF_PIT].e.khz ? CHECK_SAMPLES : MAIN_SAMPLES);
	ref[REF_HPET].e = measure_hpet(ref[REF_PIT].e.khz || ref[REF_PM_TIMER].e.khz ?
				       CHECK_SAMPLES : MAIN_SAMPLES);
	best = pick(ref);
	if (!best) {
		if (!cpu)
			return 0;
		klog(LOG_INFO, "umbra: TSC: %u MHz (%s; no PIT, PM timer or HPET counts here)\n",
		     mhz(cpu), leaf);
		return cpu;
	}
	snprintf(line, sizeof(line), "%u MHz (%s, %u samples, spread %u.%u %%", mhz(best->e.khz),
		 best->name, best->e.samples, best->e.spread_permille / 10,
		 best->e.spread_permille % 10);
	for (unsigned i = 0; i < REF_COUNT; i++)
		if (&ref[i] != best)
			say_check(line, sizeof(line), ref[i].name, ref[i].e.khz, best->e.khz);
	if (leaf)
		say_check(line, sizeof(line), leaf, cpu, best->e.khz);
	klog(LOG_INFO, "umbra: TSC: %s)\n", line);
	return best->e.khz;
}
