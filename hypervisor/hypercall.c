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
#include "../arch/x86/paging.h"
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

static s32 hc_new_pgtable(struct guest *g, struct guest_regs *r)
{
	return shadow_new_pgtable(g, r->ebx);
}

static s32 hc_set_pte(struct guest *g, struct guest_regs *r)
{
	return shadow_set_entry(g, pt_native.levels - 1, r->ebx, r->ecx,
				((u64)r->esi << 32) | r->edx);
}

static s32 hc_set_pmd(struct guest *g, struct guest_regs *r)
{
	if (pt_native.levels != 3)
		return UMBRA_EINVAL;
	return shadow_set_entry(g, 1, r->ebx, r->ecx, ((u64)r->esi << 32) | r->edx);
}

static s32 hc_set_pgd(struct guest *g, struct guest_regs *r)
{
	return shadow_set_pgd(g, r->ebx, r->ecx, ((u64)r->esi << 32) | r->edx);
}

static s32 hc_flush_tlb(struct guest *g, struct guest_regs *r)
{
	return shadow_flush(g, r->ebx, r->ecx);
}

static s32 hc_multicall(struct guest *g, struct guest_regs *r);

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
	[UMBRA_HC_NEW_PGTABLE] = hc_new_pgtable,
	[UMBRA_HC_SET_PTE] = hc_set_pte,
	[UMBRA_HC_SET_PMD] = hc_set_pmd,
	[UMBRA_HC_SET_PGD] = hc_set_pgd,
	[UMBRA_HC_FLUSH_TLB] = hc_flush_tlb,
	[UMBRA_HC_MULTICALL] = hc_multicall,
};

/*
 * A batch: many calls for one world switch. The list is copied in a chunk
 * at a time (it is guest memory, and the guest may not change it under
 * us), each call runs through the same table and checks as a single one,
 * and the results are copied back.
 */
#define BATCH_CHUNK	32

static s32 run_batch_chunk(struct guest *g, struct umbra_multicall *mc, u32 n)
{
	for (u32 i = 0; i < n; i++) {
		struct guest_regs r = { .eax = mc[i].op, .ebx = mc[i].args[0], .ecx = mc[i].args[1],
					.edx = mc[i].args[2], .esi = mc[i].args[3] };

		if (mc[i].op >= UMBRA_HC_COUNT || !hcalls[mc[i].op] || mc[i].op == UMBRA_HC_MULTICALL) {
			guest_kill(g, "multicall: entry %u: call %u cannot be batched", i, mc[i].op);
			return UMBRA_EINVAL;
		}
		g->hcalls[mc[i].op]++;
		mc[i].result = hcalls[mc[i].op](g, &r);
		if (g->state != GUEST_RUNNABLE)
			break;
	}
	return 0;
}

static s32 hc_multicall(struct guest *g, struct guest_regs *r)
{
	struct umbra_multicall mc[BATCH_CHUNK];
	gva_t list = r->ebx, bad;
	u32 count = r->ecx;

	if (count > UMBRA_MULTICALL_MAX) {
		guest_kill(g, "multicall: %u calls exceed the limit of %u", count, UMBRA_MULTICALL_MAX);
		return UMBRA_EINVAL;
	}
	for (u32 done = 0; done < count; done += BATCH_CHUNK) {
		u32 n = MIN(count - done, BATCH_CHUNK);
		gva_t at = list + done * sizeof(mc[0]);

		if (!guest_read_virt(g, mc, at, n * sizeof(mc[0]), &bad))
			goto unmapped;
		run_batch_chunk(g, mc, n);
		if (g->state == GUEST_DEAD)
			return UMBRA_EINVAL;
		if (!guest_write_virt(g, at, mc, n * sizeof(mc[0]), &bad))
			goto unmapped;
		if (g->state != GUEST_RUNNABLE)
			break;	/* halted: the rest is not run */
	}
	return (s32)count;
unmapped:
	guest_kill(g, "multicall: list 0x%x+%u is not mapped at 0x%x", list, count, bad);
	return UMBRA_EINVAL;
}

static const char *const names[UMBRA_HC_COUNT] = {
	[UMBRA_HC_CONSOLE_WRITE] = "console_write", [UMBRA_HC_SHUTDOWN] = "shutdown",
	[UMBRA_HC_YIELD] = "yield", [UMBRA_HC_SET_SHARED] = "set_shared",
	[UMBRA_HC_SET_TRAP] = "set_trap", [UMBRA_HC_SET_STACK] = "set_stack",
	[UMBRA_HC_SET_TLS] = "set_tls", [UMBRA_HC_HALT] = "halt",
	[UMBRA_HC_SET_TIMER] = "set_timer", [UMBRA_HC_IRQ_ENABLE] = "irq_enable",
	[UMBRA_HC_NEW_PGTABLE] = "new_pgtable", [UMBRA_HC_SET_PTE] = "set_pte",
	[UMBRA_HC_SET_PMD] = "set_pmd", [UMBRA_HC_SET_PGD] = "set_pgd",
	[UMBRA_HC_FLUSH_TLB] = "flush_tlb", [UMBRA_HC_MULTICALL] = "multicall",
};

const char *hcall_name(u32 nr)
{
	return nr < UMBRA_HC_COUNT && names[nr] ? names[nr] : "?";
}

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
