/*
 * FPU isolation: the x87 and SSE registers are part of a guest's state.
 *
 * Run two or more of these with different seed= values and a short time
 * slice. Each first looks at the FPU state it starts with, which must be
 * the clean one (control word 0x37f, MXCSR 0x1f80, every register zero)
 * whatever the guest before it left in the hardware registers; then, round
 * after round, it loads a pattern of its own into st0-st7 and xmm0-xmm7,
 * yields and spins long enough to be preempted, and reads the registers
 * back. Another guest's values, or a lost register, would show.
 *
 * A CPU without SSE (a Pentium II) has only the x87 registers: the guest
 * reads CPUID itself, checks those alone and says so on a NOTE line.
 *
 * The C code is built without SSE and x87, so nothing but the asm here
 * touches those registers.
 */
#include <umbra/kernel.h>

#define ROUNDS		6
#define SPIN_NS		5000000		/* several 1 ms slices */
#define GAP_NS		200000		/* a hole in our time this long: someone else ran */
#define FCW_CLEAN	0x037f
#define MXCSR_CLEAN	0x1f80
#define CPUID_SSE	(1u << 25)	/* CPUID.01H:EDX */

/* What we put in the registers: st0-st7 as doubles, xmm0-xmm7. */
struct fpu_regs {
	uint64_t st[8];			/* st[i] is loaded i-th, so ends as st(7 - i) */
	uint32_t xmm[8][4];
};

/* The FXSAVE image, as far as we look at it (Intel SDM vol. 1, 10.5.1). */
struct fxsave_area {
	uint16_t fcw, fsw;
	uint8_t ftw, reserved1;		/* abridged tag: one bit per register, 1 = valid */
	uint16_t fop;
	uint32_t fip, fcs, fdp, fds;
	uint32_t mxcsr, mxcsr_mask;
	uint8_t st[8][16];
	uint8_t xmm[8][16];
	uint8_t rest[224];
} __attribute__((aligned(16)));

static bool has_sse;

/* Ring 1 may ask; umbra runs only on CPUs that have CPUID. */
static uint32_t cpuid_edx1(void)
{
	uint32_t a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "0"(1), "2"(0));
	return d;
}

/* The runtime's trap stubs want a handler; no gate of ours leads to it. */
void umbra_trap_handler(struct umbra_frame *f)
{
	umbra_fail("trap", "unexpected vector %u at eip 0x%x", f->vector, f->eip);
}

static uint32_t hash(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	return x ^ (x >> 16);
}

/*
 * A double in [2, 4) with a seed-dependent mantissa: finite and normal, so
 * fld and fstp give back exactly the bits that went in.
 */
static void make_pattern(uint32_t seed, unsigned round, struct fpu_regs *p)
{
	uint32_t k = hash(seed * 0x9e3779b9u + round);

	for (unsigned i = 0; i < 8; i++) {
		uint64_t mant = ((uint64_t)(hash(k + 2 * i) & 0xfffff) << 32) | hash(k + 2 * i + 1);

		p->st[i] = (0x400ull << 52) | mant;
	}
	for (unsigned i = 0; i < 8; i++)
		for (unsigned j = 0; j < 4; j++)
			p->xmm[i][j] = hash(k + 100 + 4 * i + j);
}

/* movups, not movdqu: SSE is enough (a Pentium III has no SSE2). */
static void load(const struct fpu_regs *p)
{
	__asm__ volatile("fldl 0(%0); fldl 8(%0); fldl 16(%0); fldl 24(%0)\n\t"
			 "fldl 32(%0); fldl 40(%0); fldl 48(%0); fldl 56(%0)"
			 :: "r"(p) : "memory");
	if (has_sse)
		__asm__ volatile("movups 64(%0), %%xmm0; movups 80(%0), %%xmm1\n\t"
				 "movups 96(%0), %%xmm2; movups 112(%0), %%xmm3\n\t"
				 "movups 128(%0), %%xmm4; movups 144(%0), %%xmm5\n\t"
				 "movups 160(%0), %%xmm6; movups 176(%0), %%xmm7"
				 :: "r"(p) : "memory");
}

/* Pops the x87 stack empty again, last loaded first. */
static void store(struct fpu_regs *p)
{
	__asm__ volatile("fstpl 56(%0); fstpl 48(%0); fstpl 40(%0); fstpl 32(%0)\n\t"
			 "fstpl 24(%0); fstpl 16(%0); fstpl 8(%0); fstpl 0(%0)"
			 :: "r"(p) : "memory");
	if (has_sse)
		__asm__ volatile("movups %%xmm0, 64(%0); movups %%xmm1, 80(%0)\n\t"
				 "movups %%xmm2, 96(%0); movups %%xmm3, 112(%0)\n\t"
				 "movups %%xmm4, 128(%0); movups %%xmm5, 144(%0)\n\t"
				 "movups %%xmm6, 160(%0); movups %%xmm7, 176(%0)"
				 :: "r"(p) : "memory");
}

static bool all_zero(const uint8_t *p, unsigned n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/*
 * The state a new guest starts with: nothing of anyone else's. Without SSE
 * the image's MXCSR and xmm fields are reserved, and not looked at.
 */
static void check_clean(void)
{
	static struct fxsave_area fx;

	__asm__ volatile("fxsave %0" : "=m"(fx));
	if (fx.fcw != FCW_CLEAN || fx.fsw || fx.ftw || (has_sse && fx.mxcsr != MXCSR_CLEAN))
		umbra_fail("clean fpu", "fcw 0x%x fsw 0x%x tag 0x%x mxcsr 0x%x", fx.fcw, fx.fsw,
			   fx.ftw, fx.mxcsr);
	else if (!all_zero(&fx.st[0][0], sizeof(fx.st)))
		umbra_fail("clean fpu", "x87 registers hold leftover values");
	else if (has_sse && !all_zero(&fx.xmm[0][0], sizeof(fx.xmm)))
		umbra_fail("clean fpu", "xmm registers hold leftover values");
	else
		umbra_pass("clean fpu");
}

/* Time away from the CPU while we held our registers. */
static unsigned holes;
static uint64_t hole_tsc;

/* Burn ns of our own time; note the holes where the CPU went elsewhere. */
static void spin(uint64_t ns)
{
	uint64_t gap = GAP_NS * (uint64_t)umbra_shared.tsc_khz / 1000000;
	uint64_t now = umbra_rdtsc(), until = now + ns * umbra_shared.tsc_khz / 1000000;

	while (now < until) {
		uint64_t t = umbra_rdtsc();

		if (t - now > gap) {
			holes++;
			hole_tsc += t - now;
			until += t - now;	/* time someone else had is not ours */
		}
		now = t;
	}
}

int guest_main(const struct umbra_boot_info *bi)
{
	static struct fpu_regs want, got;
	uint32_t seed = umbra_arg_u32(bi, "seed", bi->guest_id);

	umbra_shared_init(0, 0);	/* for tsc_khz */
	has_sse = cpuid_edx1() & CPUID_SSE;
	if (!has_sse)
		umbra_printf("NOTE fpu: this CPU has no SSE (CPUID.01H:EDX bit 25 clear): "
			     "only the x87 registers are checked, not xmm0-xmm7 and MXCSR\n");
	check_clean();
	for (unsigned round = 0; round < ROUNDS; round++) {
		make_pattern(seed, round, &want);
		load(&want);
		/* Let the next guest start (or run) while our registers are dirty. */
		umbra_yield();
		spin(SPIN_NS);
		umbra_yield();
		store(&got);
		for (unsigned i = 0; i < 8; i++) {
			if (got.st[i] != want.st[i]) {
				umbra_fail("fpu kept", "round %u: st(%u) is 0x%llx, loaded 0x%llx",
					   round, 7 - i, got.st[i], want.st[i]);
				return 1;
			}
		}
		for (unsigned i = 0; has_sse && i < 8; i++) {
			for (unsigned j = 0; j < 4; j++) {
				if (got.xmm[i][j] != want.xmm[i][j]) {
					umbra_fail("fpu kept", "round %u: xmm%u dword %u is 0x%x, loaded 0x%x",
						   round, i, j, got.xmm[i][j], want.xmm[i][j]);
					return 1;
				}
			}
		}
	}
	umbra_printf("seed %u: %u rounds, preempted %u times for %u us in all\n", seed, ROUNDS,
		     holes, (uint32_t)(hole_tsc * 1000 / umbra_shared.tsc_khz));
	umbra_pass("fpu kept");
	/* Otherwise the test proved nothing: nobody else ran while we held the registers. */
	umbra_check(holes > 0, "fpu preempted");
	return 0;
}
