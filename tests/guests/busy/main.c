/*
 * A guest that is always running, for things that arrive from outside at
 * any moment (NMIs): it never halts and never yields, but for one
 * CONSOLE_READ a round, and ends when a line arrives on the console.
 *
 * Each round computes the same chain of arithmetic twice, four lanes in
 * registers, and compares: anything that interrupted it and came back with
 * a register changed would make the two disagree.
 */
#include <umbra/kernel.h>

#define STEPS	20000		/* per chain: most of the time is spent here, in ring 1 */

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

static long console_read(char *buf, uint32_t size)
{
	return umbra_hcall(UMBRA_HC_CONSOLE_READ, (uint32_t)(uintptr_t)buf, size, 0, 0);
}

/* The runtime's trap stubs want a handler; no gate of ours leads to it. */
void umbra_trap_handler(struct umbra_frame *f)
{
	umbra_fail("trap", "unexpected vector %u at eip 0x%x", f->vector, f->eip);
}

int guest_main(const struct umbra_boot_info *bi)
{
	unsigned rounds = 0, wrong = 0;
	char buf[64];

	console_read(buf, 0);		/* says this guest reads input */
	umbra_printf("%s: ready\n", bi->name);
	for (;;) {
		uint32_t first = chain(rounds), second = chain(rounds);

		if (first != second && wrong++ < 5)
			umbra_fail("busy", "round %u: 0x%x, then 0x%x", rounds, first, second);
		rounds++;
		if (console_read(buf, sizeof(buf)) > 0)
			break;
	}
	umbra_printf("%s: %u rounds\n", bi->name, rounds);
	if (!wrong)
		umbra_pass("busy: every round computed the same twice");
	return umbra_failures() ? 1 : 0;
}
