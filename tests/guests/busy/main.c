/*
 * A guest that is always running, for things that arrive from outside at
 * any moment (NMIs): it never halts and never yields, but for one
 * CONSOLE_READ a round, and ends when a line arrives on the console.
 *
 * Each round computes the same chain of arithmetic twice, four lanes in
 * registers, and compares: anything that interrupted it and came back with
 * a register changed would make the two disagree. With ring=3 the chains
 * run in ring 3, which hands both results to the kernel with an int.
 */
#include <umbra/kernel.h>

#define STEPS		20000		/* per chain: most of the time is spent here */
#define USER_VECTOR	0x80		/* ring 3's way back, eax and edx the two results */

/* noipa: the compiler must not see it is pure and compute it once. */
__attribute__((noipa)) static uint32_t chain(uint32_t seed)
{
	uint32_t a = seed, b = seed ^ 0x9e3779b9u, c = seed * 3, d = ~seed;

	for (unsigned i = 0; i < STEPS; i++) {
		a = a * 0x7feb352du + b;
		b = (b ^ (a >> 15)) + c;
		c = c * 0x846ca68bu ^ d;
		d = (d + (c >> 13)) ^ a;
	}
	return a ^ b ^ c ^ d;
}

static uint32_t seed;
static uint32_t results[2];
static char user_stack[4096] __attribute__((aligned(16)));
static char kernel_stack[8192] __attribute__((aligned(4096)));

static void user_round(void)
{
	__asm__ volatile("int %0" :: "i"(USER_VECTOR), "a"(chain(seed)), "d"(chain(seed)));
	for (;;)
		;
}

void umbra_trap_handler(struct umbra_frame *f)
{
	if (f->vector != USER_VECTOR || (f->cs & 3) != 3) {
		umbra_fail("trap", "unexpected vector %u at eip 0x%x", f->vector, f->eip);
		umbra_shutdown(1);
	}
	results[0] = f->eax;
	results[1] = f->edx;
	umbra_user_return(0);
}

static long console_read(char *buf, uint32_t size)
{
	return umbra_hcall(UMBRA_HC_CONSOLE_READ, (uint32_t)(uintptr_t)buf, size, 0, 0);
}

static bool setup_ring3(void)
{
	if (umbra_shared_init(0, 0) < 0 ||
	    umbra_set_stack((uint32_t)kernel_stack + sizeof(kernel_stack), 2) < 0 ||
	    umbra_set_trap(USER_VECTOR, (void (*)(void))umbra_trap_stub(USER_VECTOR),
			   UMBRA_GATE_TRAP, 3) < 0) {
		umbra_fail("busy", "ring 3 could not be set up");
		return false;
	}
	return true;
}

int guest_main(const struct umbra_boot_info *bi)
{
	unsigned rounds = 0, wrong = 0, ring = umbra_arg_u32(bi, "ring", 1);
	char buf[64];

	if (ring == 3 && !setup_ring3())
		return 1;
	console_read(buf, 0);		/* says this guest reads input */
	umbra_printf("%s: ready, computing in ring %u\n", bi->name, ring);
	for (;;) {
		seed = rounds;
		if (ring == 3) {
			umbra_run_user(user_round, (uint32_t)user_stack + sizeof(user_stack));
		} else {
			results[0] = chain(seed);
			results[1] = chain(seed);
		}
		if (results[0] != results[1] && wrong++ < 5)
			umbra_fail("busy", "round %u: 0x%x, then 0x%x", rounds, results[0], results[1]);
		rounds++;
		if (console_read(buf, sizeof(buf)) > 0)
			break;
	}
	umbra_printf("%s: %u rounds in ring %u\n", bi->name, rounds, ring);
	if (!wrong)
		umbra_pass("busy: every round computed the same twice");
	return umbra_failures() ? 1 : 0;
}
