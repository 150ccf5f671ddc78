/*
 * Hypercalls. Each handler gets the guest and its saved registers, checks
 * every argument (they come from the guest and mean nothing until checked)
 * and returns the value the guest sees in eax. A handler that finds an
 * argument only a broken or hostile guest would pass kills the guest and
 * names the call; the return value is then never seen.
 */
#include "hypercall.h"
#include "guest_desc.h"
#include "guest_mem.h"
#include "timer.h"
#include "../guest-abi/include/umbra/hypercall.h"

typedef s32 (*hcall_fn)(struct guest *g, struct guest_regs *r);

/* Longest console write in one call; a longer one is a guest bug. */
#define CONSOLE_WRITE_MAX	4096

static s32 hc_console_write(struct guest *g, struct guest_regs *r)
{
	gva_t buf = r->ebx, bad;
	u32 len = r->ecx;
	char chunk[128];

	if (len > CONSOLE_WRITE_MAX) {
		guest_kill(g, "console_write: length %u exceeds %u", len, CONSOLE_WRITE_MAX);
		return UMBRA_EINVAL;
	}
	for (u32 done = 0; done < len;) {
		u32 n = MIN(len - done, sizeof(chunk));

		if (!guest_read_virt(g, chunk, buf + done, n, &bad)) {
			guest_kill(g, "console_write: buffer 0x%x+%u is not mapped at 0x%x",
				   buf, len, bad);
			return UMBRA_EINVAL;
		}
		guest_console(g, chunk, n);
		done += n;
	}
	return (s32)len;
}

static s32 hc_shutdown(struct guest *g, struct guest_regs *r)
{
	guest_exit(g, r->ebx);
	return 0;
}

static s32 hc_yield(struct guest *g, struct guest_regs *r)
{
	(void)r;
	g->yielded = true;
	return 0;
}

/*
 * Sleep until a virtual interrupt is pending. The timer is the only source
 * of virtual interrupts, so halting without one armed would sleep forever:
 * that is a dead guest, and it is ended rather than left to hang the run.
 */
static s32 hc_halt(struct guest *g, struct guest_regs *r)
{
	(void)r;
	if (g->shared && g->shared->irq_pending)
		return 0;
	if (!g->timer_deadline || !g->shared) {
		guest_kill(g, "halt: no timer is set, nothing would ever wake the guest");
		return UMBRA_EINVAL;
	}
	g->state = GUEST_HALTED;
	return 0;
}

static s32 hc_set_timer(struct guest *g, struct guest_regs *r)
{
	timer_set(g, ((u64)r->ecx << 32) | r->ebx);
	return 0;
}

/* Nothing to do: the way back into the guest delivers what is pending. */
static s32 hc_irq_enable(struct guest *g, struct guest_regs *r)
{
	(void)g, (void)r;
	return 0;
}

static const hcall_fn hcalls[UMBRA_HC_COUNT] = {
	[UMBRA_HC_CONSOLE_WRITE] = hc_console_write,
	[UMBRA_HC_SHUTDOWN] = hc_shutdown,
	[UMBRA_HC_YIELD] = hc_yield,
	[UMBRA_HC_SET_SHARED] = hc_set_shared,
	[UMBRA_HC_SET_TRAP] = hc_set_trap,
	[UMBRA_HC_SET_STACK] = hc_set_stack,
	[UMBRA_HC_SET_TLS] = hc_set_tls,
	[UMBRA_HC_HALT] = hc_halt,
	[UMBRA_HC_SET_TIMER] = hc_set_timer,
	[UMBRA_HC_IRQ_ENABLE] = hc_irq_enable,
};

void hypercall(struct guest *g, struct guest_regs *r)
{
	u32 nr = r->eax;

	g->hypercalls++;
	if (nr >= UMBRA_HC_COUNT || !hcalls[nr]) {
		guest_kill(g, "unknown hypercall %u", nr);
		return;
	}
	g->hcalls[nr]++;
	r->eax = (u32)hcalls[nr](g, r);
}
