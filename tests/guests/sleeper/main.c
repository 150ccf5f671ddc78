/*
 * The virtual timer: a guest that sleeps must wake through its timer gate,
 * never before the deadline it asked for and not much after, and a timer
 * that expires while the guest has interrupts off must wait for its "sti".
 *
 * Each sleep is the classic idle loop of a kernel: cli, arm the timer,
 * halt, sti. The halt returns once the timer is pending; the sti finds it
 * pending and asks for it with UMBRA_HC_IRQ_ENABLE, so the interrupt
 * arrives on the way out of that hypercall. Deadlines and wake times are
 * TSC readings, which under QEMU's -icount count instructions.
 */
#include <umbra/kernel.h>

#define TIMER_VECTOR	UMBRA_IRQ_VECTOR(UMBRA_IRQ_TIMER)
#define IMAGE_BASE	0x100000u	/* guest.ld loads guests at 1 MiB */
#define INT_OPCODE	0xcd		/* int imm8 */
#define EFLAGS_IF	0x200u
/* The hypervisor's tick is 1 ms; a wake-up may wait for the next one. */
#define MAX_LATE_US	1500u

extern char _end[];

/* What the handler saw; volatile because it changes behind the code's back. */
static volatile unsigned fired;
static volatile uint64_t fired_tsc;
static volatile uint32_t fired_eip, fired_cs, fired_eflags, fired_irq_enabled;

void umbra_trap_handler(struct umbra_frame *f)
{
	fired_tsc = umbra_rdtsc();
	fired_eip = f->eip;
	fired_cs = f->cs;
	fired_eflags = f->eflags;
	fired_irq_enabled = umbra_shared.irq_enabled;
	fired++;
}

/* The same rounding as the hypervisor's, so a deadline is never overstated. */
static uint64_t ns_to_tsc(uint64_t ns)
{
	uint32_t khz = umbra_shared.tsc_khz;

	return (ns / 1000000) * khz + (ns % 1000000) * khz / 1000000;
}

/* Busy-wait ns; afterwards re-read what the hypervisor wrote meanwhile. */
static void spin_ns(uint64_t ns)
{
	uint64_t until = umbra_rdtsc() + ns_to_tsc(ns);

	while (umbra_rdtsc() < until)
		;
	__asm__ volatile("" ::: "memory");
}

static uint32_t tsc_to_us(uint64_t tsc)
{
	return (uint32_t)(tsc * 1000 / umbra_shared.tsc_khz);
}

/* The frame of the last sleep's interrupt says where and how it arrived. */
static void check_frame(void)
{
	const uint8_t *after = (const uint8_t *)fired_eip;

	/* The interrupted instruction follows the `int $0x82` of umbra_sti(). */
	if (fired_eip < IMAGE_BASE + 2 || fired_eip >= (uint32_t)_end ||
	    after[-2] != INT_OPCODE || after[-1] != UMBRA_HCALL_VECTOR)
		umbra_fail("frame eip", "0x%x is not just after a hypercall in guest code",
			   fired_eip);
	else
		umbra_pass("frame eip");
	umbra_check(fired_cs == UMBRA_KERNEL_CS, "frame cs");
	/* The pushed flags carry the virtual flag as it was: on. */
	umbra_check(fired_eflags & EFLAGS_IF, "frame eflags.IF");
	/* An interrupt gate turns the virtual flag off for the handler. */
	umbra_check(fired_irq_enabled == 0, "irq_enabled clear in handler");
}

/* Sleep ns; false (and a FAIL line) if the wake-up was wrong. */
static bool sleep_once(uint64_t ns, uint64_t *last_wake)
{
	unsigned before = fired;
	uint64_t deadline;
	uint32_t late;

	umbra_cli();
	deadline = umbra_rdtsc() + ns_to_tsc(ns);
	umbra_set_timer(ns);
	umbra_halt();
	if (fired != before) {
		umbra_fail("sleep", "%llu ns: interrupt delivered while irq_enabled was 0", ns);
		return false;
	}
	umbra_sti();
	if (fired != before + 1) {
		umbra_fail("sleep", "%llu ns: handler ran %u times, expected once", ns, fired - before);
		return false;
	}
	if (fired_tsc < deadline) {
		umbra_fail("sleep", "%llu ns: woke %u us early", ns, tsc_to_us(deadline - fired_tsc));
		return false;
	}
	if (fired_tsc <= *last_wake) {
		umbra_fail("sleep", "%llu ns: wake time went backwards", ns);
		return false;
	}
	*last_wake = fired_tsc;
	late = tsc_to_us(fired_tsc - deadline);
	umbra_printf("sleep %llu: late by %u us\n", ns, late);
	if (late > MAX_LATE_US) {
		umbra_fail("sleep", "%llu ns: %u us late, more than %u", ns, late, MAX_LATE_US);
		return false;
	}
	return true;
}

/*
 * With the virtual flag off, an expired timer stays pending (bit 0 of
 * irq_pending) however long the guest runs; the sti delivers it.
 */
static void check_masked(void)
{
	unsigned before = fired;

	umbra_cli();
	umbra_set_timer(1000000);
	/* Past the deadline and two more ticks, so the hypervisor has seen it expire. */
	spin_ns(3000000);
	umbra_check(fired == before, "masked timer not delivered");
	umbra_check(umbra_shared.irq_pending & (1u << UMBRA_IRQ_TIMER), "masked timer pending");
	umbra_sti();
	umbra_check(fired == before + 1, "masked timer delivered by sti");
}

/* A cancelled timer never fires, even with interrupts on. */
static void check_cancel(void)
{
	unsigned before = fired;

	umbra_sti();
	umbra_set_timer(1000000);
	umbra_set_timer(0);
	spin_ns(3000000);
	umbra_cli();
	umbra_check(fired == before && !umbra_shared.irq_pending, "cancelled timer silent");
}

int guest_main(const struct umbra_boot_info *bi)
{
	static const uint64_t sleeps[] = { 100000, 1000000, 3000000, 10000000, 20000000 };
	uint64_t last_wake = 0;
	unsigned ok = 0;

	if (umbra_shared_init(0, 0) < 0) {
		umbra_fail("shared page", "registration refused");
		return 1;
	}
	umbra_printf("TSC %u kHz\n", umbra_shared.tsc_khz);
	if (umbra_set_trap(TIMER_VECTOR, (void (*)(void))umbra_trap_stub(TIMER_VECTOR),
			   UMBRA_GATE_INTR, 1) < 0) {
		umbra_fail("timer gate", "refused");
		return 1;
	}
	for (unsigned i = 0; i < sizeof(sleeps) / sizeof(sleeps[0]); i++)
		ok += sleep_once(sleeps[i], &last_wake);
	if (ok == sizeof(sleeps) / sizeof(sleeps[0]))
		umbra_pass("sleeps: never early, monotonic, at most one tick late");
	if (fired)
		check_frame();
	check_masked();
	check_cancel();
	return umbra_failures() ? 1 : 0;
}
