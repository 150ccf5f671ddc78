/*
 * The virtual timer: SET_TIMER, HALT until it fires, and its delivery as a
 * hypercall returns (IRQ_ENABLE, or a MULTICALL whose HALT slept); and the
 * check that no timer interrupt is ever pending before its time.
 */
#include "fz.h"

/* The timer interrupt, if one is pending, must not have come before its time. */
void timer_check_early(const char *name)
{
	u64 elapsed, khz = S->tsc_khz ? S->tsc_khz : 1;

	if (!M.timer_armed || !(S->irq_pending & 1))
		return;
	if (!M.timer_clean)	/* that may be an older timer: this one may still come */
		return;
	elapsed = (umbra_rdtsc() - M.timer_t0) * 1000000ull / khz;
	if (elapsed < M.timer_ns)
		violation("timer early", "%s: SET_TIMER(%llu ns) pending after %llu ns", name,
			  M.timer_ns, elapsed);
	M.timer_armed = 0;
	M.pending_possible = 1;
}

/* No timer armed, nothing pending: the state in which irq_enabled may be set. */
void timer_quiesce(void)
{
	if (M.timer_armed)
		hc_plain(UMBRA_HC_SET_TIMER, 0, 0, 0, 0);
	if (M.timer_armed || M.pending_possible || S->irq_pending)
		hc_plain(UMBRA_HC_SET_SHARED, M.shared, 0, 0, 0);
	M.timer_armed = 0;
	M.pending_possible = 0;
}


/* IRQ_ENABLE with irq_enabled set and the timer pending: delivered as it returns. */
static void deliver(const char *why)
{
	struct call c;
	struct fz_in in;
	struct xtrap x;
	char name[48];
	unsigned other;
	u32 esp;

	call_init_pt(&c, UMBRA_HC_IRQ_ENABLE, "irq_enable");
	random_gprs(&in);
	random_segs(&in, 1);
	in.eflags = random_eflags();
	in.eax = c.nr;
	esp = pick_stack(&in, 1);
	M.irq = 1;
	run_op1(&in, sn_hcall, sn_hcall_at, sn_hcall_after);
	umbra_snprintf(name, sizeof(name), "timer delivery (%s)", why);
	/* delivered as the call returns: to code whose NT the call has cleared */
	xtrap_for(&x, 32, 1, in.eflags & ~F_NT, (u32)(uintptr_t)sn_hcall_after, fz_xesp, 0);
	(void)esp;
	count_db(&other);
	if (other >= fz_ntraps || other >= MAXTRAPS)
		violation(name, "no timer interrupt (irq_pending 0x%x)", S->irq_pending);
	else
		check_trap(name, other, &x);
	if (S->irq_pending & 1)
		violation(name, "irq_pending 0x%x after delivery", S->irq_pending);
	if (!fz_escaped && (int32_t)fz_out.eax != 0)
		violation(name, "irq_enable returned %d", (int32_t)fz_out.eax);
	M.irq = 0;
	M.pending_possible = 0;
	M.timer_armed = 0;
}

void op_timer(void)
{
	struct call c;
	u64 ns = 20000 + rn(3000000);
	u64 t0;
	int how = (int)rn(3);

	M.irq = 0;
	timer_quiesce();
	if (how == 0) {
		/* SET_TIMER, HALT until it fires, then sti: delivered by IRQ_ENABLE. */
		call_init_pt(&c, UMBRA_HC_SET_TIMER, "set_timer");
		c.a[0] = (u32)ns, c.a[1] = (u32)(ns >> 32);
		c.timer_set = 1, c.timer_ns = ns;
		t0 = umbra_rdtsc();
		do_hcall_in(&c, 0);
		call_init_pt(&c, UMBRA_HC_HALT, "halt");
		do_hcall_in(&c, 0);
		if (!(S->irq_pending & 1))
			violation("halt", "halt returned with irq_pending 0x%x", S->irq_pending);
		else if ((umbra_rdtsc() - t0) * 1000000ull / (S->tsc_khz ? S->tsc_khz : 1) < ns)
			violation("timer early", "set_timer(%llu ns), halt woke after %llu ns", ns,
				  (umbra_rdtsc() - t0) * 1000000ull / (S->tsc_khz ? S->tsc_khz : 1));
		M.timer_armed = 0;
		deliver("halt");
		return;
	}
	/* A batch that sleeps in its HALT: the entries after it are not run. */
	{
		struct umbra_multicall *mc = (struct umbra_multicall *)(uintptr_t)MCLIST;
		u32 n = 2 + rn(6), r;

		ns = 1000000 + rn(2000000);
		mc[0].op = UMBRA_HC_SET_TIMER, mc[0].args[0] = (u32)ns, mc[0].args[1] = 0;
		mc[1].op = UMBRA_HC_HALT;
		for (u32 i = 0; i < n; i++)
			mc[i].result = 0x5a5a5a5a;
		for (u32 i = 2; i < n; i++)
			mc[i].op = UMBRA_HC_YIELD;
		t0 = umbra_rdtsc();
		M.irq = how == 2;
		S->irq_enabled = M.irq;
		if (how == 2) {
			struct fz_in in;
			struct xtrap x;
			unsigned other;

			random_gprs(&in);
			random_segs(&in, 1);
			in.eflags = random_eflags();
			in.eax = UMBRA_HC_MULTICALL, in.ebx = MCLIST, in.ecx = n;
			pick_stack(&in, 1);
			run_op1(&in, sn_hcall, sn_hcall_at, sn_hcall_after);
			xtrap_for(&x, 32, 1, in.eflags & ~F_NT, (u32)(uintptr_t)sn_hcall_after,
				  fz_xesp, 0);
			count_db(&other);
			if (other >= fz_ntraps || other >= MAXTRAPS)
				violation("timer delivery (multicall halt)", "no timer interrupt");
			else
				check_trap("timer delivery (multicall halt)", other, &x);
			r = fz_out.eax;
			M.irq = 0;
			M.pending_possible = 0;
		} else {
			r = (u32)hc_plain(UMBRA_HC_MULTICALL, MCLIST, n, 0, 0);
		}
		S->irq_enabled = 0;
		if (r != n)
			violation("multicall halt", "returned %d, expected %u", (int32_t)r, n);
		if (mc[0].result != 0 || mc[1].result != 0)
			violation("multicall halt", "results %d, %d, expected 0, 0", mc[0].result,
				  mc[1].result);
		for (u32 i = 2; i < n; i++)
			if (mc[i].result != 0x5a5a5a5a) {
				violation("multicall halt", "entry %u after the sleeping HALT ran (result %d)",
					  i, mc[i].result);
				break;
			}
		if ((umbra_rdtsc() - t0) * 1000000ull / (S->tsc_khz ? S->tsc_khz : 1) < ns)
			violation("timer early", "multicall set_timer(%llu ns), halt woke early", ns);
		if (how == 1)
			deliver("multicall halt");
		M.timer_armed = 0;
	}
}

