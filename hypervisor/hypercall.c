/*
 * Hypercalls: the table that says everything about each call (its name,
 * its handler, whether it may be batched), the dispatcher, and MULTICALL.
 *
 * No call may hold the CPU for long, whatever its arguments: the time a
 * guest beside it waits is bounded by the slice plus one piece. Every
 * single call is bounded by construction (a console write by the guest's
 * console budget, a flush by one shadow top level's size); MULTICALL runs
 * its entries until a piece of time (HCALL_PIECE_US) is used up and then,
 * if entries remain, stays pending and is continued later, after the
 * timer has had a chance to preempt the guest. The guest sees nothing of
 * this: its registers are untouched until the whole batch is done.
 */
#include "hypercall.h"
#include "console_in.h"
#include "guest_desc.h"
#include "guest_mem.h"
#include "timer.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/paging.h"
#include "../guest-abi/include/umbra/hypercall.h"

#define HCALL_PIECE_US	100
#define HC_PENDING	((s32)0x80000000)	/* internal: MULTICALL not finished */

/* Longest console write in one call; a longer one is a guest bug. */
#define CONSOLE_WRITE_MAX	4096

struct hcall_longest hcall_longest;

static s32 hc_console_write(struct guest *g, const u32 a[4])
{
	gva_t buf = a[0], bad;
	u32 len = a[1];
	char chunk[128];

	if (len > CONSOLE_WRITE_MAX)
		guest_kill(g, "console_write: length %u exceeds %u", len, CONSOLE_WRITE_MAX);
	guest_console_call(g);
	for (u32 done = 0; done < len;) {
		u32 n = MIN(len - done, sizeof(chunk));

		if (!guest_read_virt(g, chunk, buf + done, n, &bad))
			guest_kill(g, "console_write: buffer 0x%x+%u is not mapped at 0x%x", buf, len, bad);
		guest_console(g, chunk, n);
		done += n;
	}
	guest_console_call_end(g);
	return (s32)len;
}

static s32 hc_shutdown(struct guest *g, const u32 a[4])
{
	guest_exit(g, a[0]);
	return 0;
}

static s32 hc_yield(struct guest *g, const u32 a[4])
{
	g->yielded = true;
	return 0;
}

/*
 * Sleep until a virtual interrupt is pending. The timer is the only source
 * of virtual interrupts, so halting without one armed would sleep forever:
 * that is a dead guest, and it is ended rather than left to hang the run.
 */
static s32 hc_halt(struct guest *g, const u32 a[4])
{
	if (g->shared && g->shared->irq_pending)
		return 0;
	if (!g->timer_deadline || !g->shared)
		guest_kill(g, "halt: no timer is set, nothing would ever wake the guest");
	g->state = GUEST_HALTED;
	return 0;
}

static s32 hc_set_timer(struct guest *g, const u32 a[4])
{
	timer_set(g, hc_arg64(a, 0));
	return 0;
}

/* Nothing to do: the way back into the guest delivers what is pending. */
static s32 hc_irq_enable(struct guest *g, const u32 a[4])
{
	return 0;
}

static s32 hc_new_pgtable(struct guest *g, const u32 a[4])
{
	return shadow_new_pgtable(g, a[0]);
}

static s32 hc_set_pte(struct guest *g, const u32 a[4])
{
	return shadow_set_entry(g, pt_native.levels - 1, a[0], a[1], hc_arg64(a, 2));
}

static s32 hc_set_pmd(struct guest *g, const u32 a[4])
{
	if (pt_native.levels != 3)
		return UMBRA_EINVAL;
	return shadow_set_entry(g, 1, a[0], a[1], hc_arg64(a, 2));
}

static s32 hc_set_pgd(struct guest *g, const u32 a[4])
{
	return shadow_set_pgd(g, a[0], a[1], hc_arg64(a, 2));
}

static s32 hc_flush_tlb(struct guest *g, const u32 a[4])
{
	return shadow_flush(g, a[0], a[1]);
}

static s32 hc_release_pgtable(struct guest *g, const u32 a[4])
{
	return shadow_release(g, a[0]);
}

static s32 hc_update_range(struct guest *g, const u32 a[4])
{
	return shadow_update_range(g, a[0], a[1], a[2]);
}

static s32 hc_protect_range(struct guest *g, const u32 a[4])
{
	return shadow_protect_range(g, a[0], a[1], a[2], a[3]);
}

/*
 * The list is copied in 2 KiB at a time (guest memory: an entry
 * must not change between its check and its use), then run.
 */
#define MMU_CHUNK	128	/* 2 KiB of stack */

static s32 hc_mmu_update(struct guest *g, const u32 a[4])
{
	struct umbra_mmu_update u[MMU_CHUNK];
	gva_t list = a[0], bad;
	u32 count = a[1];

	if (count > UMBRA_MMU_UPDATE_MAX)
		guest_kill(g, "mmu_update: %u entries exceed the limit of %u", count, UMBRA_MMU_UPDATE_MAX);
	for (u32 done = 0; done < count;) {
		u32 n = MIN(count - done, MMU_CHUNK);

		if (!guest_read_virt(g, u, list + done * sizeof(u[0]), n * sizeof(u[0]), &bad))
			guest_kill(g, "mmu_update: list 0x%x+%u is not mapped at 0x%x", list, count, bad);
		if (shadow_mmu_update(g, u, n) < 0)
			return UMBRA_EINVAL;
		done += n;
	}
	return (s32)count;
}

/* NEW_PGTABLE and SET_STACK as one: the stack is pinned once, in the new table. */
static s32 hc_switch(struct guest *g, const u32 a[4])
{
	if (a[1] && !guest_stack_set(g, UMBRA_KERNEL_DS, a[1], a[2]))
		return UMBRA_EINVAL;
	return shadow_new_pgtable(g, a[0]);
}

static s32 hc_console_read(struct guest *g, const u32 a[4])
{
	return console_in_read(g, a[0], a[1]);
}

struct hcall {
	const char *name;
	hcall_fn *fn;		/* NULL: MULTICALL, which the dispatcher runs itself */
	bool batch;		/* may be an entry of a MULTICALL */
};

/*
 * Every call but MULTICALL may be batched: each entry runs through the
 * same handler, against the guest's real registers and state, so a call
 * checks exactly the same batched as alone. A batch inside a batch would
 * only make the bound on one batch's work harder to see.
 */
static const struct hcall hcalls[UMBRA_HC_COUNT] = {
	[UMBRA_HC_CONSOLE_WRITE] = { "console_write", hc_console_write, true },
	[UMBRA_HC_SHUTDOWN] = { "shutdown", hc_shutdown, true },
	[UMBRA_HC_YIELD] = { "yield", hc_yield, true },
	[UMBRA_HC_SET_SHARED] = { "set_shared", hc_set_shared, true },
	[UMBRA_HC_SET_TRAP] = { "set_trap", hc_set_trap, true },
	[UMBRA_HC_SET_STACK] = { "set_stack", hc_set_stack, true },
	[UMBRA_HC_SET_TLS] = { "set_tls", hc_set_tls, true },
	[UMBRA_HC_HALT] = { "halt", hc_halt, true },
	[UMBRA_HC_SET_TIMER] = { "set_timer", hc_set_timer, true },
	[UMBRA_HC_IRQ_ENABLE] = { "irq_enable", hc_irq_enable, true },
	[UMBRA_HC_NEW_PGTABLE] = { "new_pgtable", hc_new_pgtable, true },
	[UMBRA_HC_SET_PTE] = { "set_pte", hc_set_pte, true },
	[UMBRA_HC_SET_PMD] = { "set_pmd", hc_set_pmd, true },
	[UMBRA_HC_SET_PGD] = { "set_pgd", hc_set_pgd, true },
	[UMBRA_HC_FLUSH_TLB] = { "flush_tlb", hc_flush_tlb, true },
	[UMBRA_HC_MULTICALL] = { "multicall", NULL, false },
	[UMBRA_HC_RELEASE_PGTABLE] = { "release_pgtable", hc_release_pgtable, true },
	[UMBRA_HC_CONSOLE_READ] = { "console_read", hc_console_read, true },
	[UMBRA_HC_UPDATE_RANGE] = { "update_range", hc_update_range, true },
	[UMBRA_HC_SWITCH] = { "switch", hc_switch, true },
	[UMBRA_HC_PROTECT_RANGE] = { "protect_range", hc_protect_range, true },
	[UMBRA_HC_MMU_UPDATE] = { "mmu_update", hc_mmu_update, true },
};

static const struct hcall *lookup(u32 nr)
{
	return nr < UMBRA_HC_COUNT && hcalls[nr].name ? &hcalls[nr] : NULL;
}

const char *hcall_name(u32 nr)
{
	const struct hcall *h = lookup(nr);

	return h ? h->name : "?";
}

/* ---- MULTICALL ------------------------------------------------------------ */

/*
 * The list is copied in a chunk at a time (it is guest memory, and the
 * guest must not change an entry between its check and its use), and the
 * results of the entries run are copied back.
 */
#define BATCH_CHUNK	64	/* 1.5 KiB of stack */

/* Run entries first.. of the chunk until one ends the run; how many ran. */
static u32 run_entries(struct guest *g, struct umbra_multicall *mc, u32 n, u32 first, u64 deadline)
{
	for (u32 i = 0; i < n; i++) {
		const struct hcall *h = lookup(mc[i].op);

		if (!h || !h->batch)
			guest_kill(g, "multicall: entry %u: call %u cannot be batched", first + i, mc[i].op);
		g->hcalls[mc[i].op]++;
		g->calls++;
		g->batch_entry = (s32)(first + i);
		mc[i].result = h->fn(g, mc[i].args);
		g->batch_entry = -1;
		if (g->state != GUEST_RUNNABLE || rdtsc() >= deadline)
			return i + 1;
	}
	return n;
}

/* Run the batch from entry g->mc_done on, for one piece of time at most. */
static s32 multicall(struct guest *g, gva_t list, u32 count)
{
	u64 deadline = rdtsc() + (u64)tsc_khz * HCALL_PIECE_US / 1000;
	struct umbra_multicall mc[BATCH_CHUNK];
	u32 done = g->mc_done;
	gva_t bad;

	if (count > UMBRA_MULTICALL_MAX)
		guest_kill(g, "multicall: %u calls exceed the limit of %u", count, UMBRA_MULTICALL_MAX);
	while (done < count) {
		u32 n = MIN(count - done, BATCH_CHUNK), ran;
		gva_t at = list + done * sizeof(mc[0]);

		if (!guest_read_virt(g, mc, at, n * sizeof(mc[0]), &bad))
			goto unmapped;
		ran = run_entries(g, mc, n, done, deadline);
		if (!guest_write_virt(g, at, mc, ran * sizeof(mc[0]), &bad))
			goto unmapped;
		done += ran;
		if (g->state != GUEST_RUNNABLE)
			break;	/* halted: the rest is not run */
		if (done < count && rdtsc() >= deadline) {
			g->mc_done = done;
			return HC_PENDING;
		}
	}
	g->mc_done = 0;
	return (s32)count;
unmapped:
	guest_kill(g, "multicall: list 0x%x+%u is not mapped at 0x%x", list, count, bad);
	return UMBRA_EINVAL;
}

/* ---- dispatch ------------------------------------------------------------- */

static void note_time(struct guest *g, u32 nr, u64 start)
{
	u64 t = rdtsc() - start;

	if (t > hcall_longest.tsc)
		hcall_longest = (struct hcall_longest){ t, nr, g->id };
}

static void finish(struct guest *g, struct guest_regs *r, s32 result)
{
	if (result != HC_PENDING)
		r->eax = (u32)result;
}

void hypercall(struct guest *g, struct guest_regs *r)
{
	const struct hcall *h = lookup(r->eax);
	u32 a[4] = { r->ebx, r->ecx, r->edx, r->esi };
	u64 start = rdtsc();
	u32 nr = r->eax;

	if (!h)
		guest_kill(g, "unknown hypercall %u", nr);
	g->hcalls[nr]++;
	g->calls++;
	finish(g, r, h->fn ? h->fn(g, a) : multicall(g, r->ebx, r->ecx));
	note_time(g, nr, start);
}

void hypercall_continue(struct guest *g, struct guest_regs *r)
{
	u64 start = rdtsc();

	finish(g, r, multicall(g, r->ebx, r->ecx));
	note_time(g, UMBRA_HC_MULTICALL, start);
}
