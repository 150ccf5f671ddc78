/*
 * A run (see shadow_sim.h): one guest booted on its linear mapping, its
 * kernel stack perhaps pinned, a sequence of random steps each followed by
 * a check, an optional hostile end, and teardown with a leak check.
 */
#include <string.h>

#include "sim_internal.h"

/* ---- a run ------------------------------------------------------------------ */

/* Map the kernel stack and declare it, as SET_STACK does. */
static void setup_stack(void)
{
	u32 slot = hot_slot(true);
	unsigned pages = 1 + pick(2);
	u32 hi = slot + (pages + pick(LEAF_ENTRIES - pages + 1)) * PAGE_SIZE, lo = hi - pages * PAGE_SIZE;

	if (!map_stack(lo, hi))
		return;
	stack_lo = lo;
	stack_hi = hi;
	note("kernel stack [0x%x, 0x%x)", stack_lo, stack_hi);
	g->ss1 = UMBRA_KERNEL_DS;
	g->esp1 = stack_hi;
	g->stack_pages = pages;
	if ((!shadow_pin_stack(g) || !alive()) && !starved())
		fail(CK_CALLS, "pinning the kernel stack [0x%x, 0x%x) failed: %s", stack_lo, stack_hi,
		     g->reason);
}

static void step(bool raw)
{
	unsigned r = pick(100);

	if (raw && r < 3) {
		op_raw();
		return;
	}
	r = pick(100);
	if (r < 28)
		op_access();
	else if (r < 44)
		op_leaf(want_kernel(), true);
	else if (r < 50)
		op_leaf(want_kernel(), false);
	else if (r < 58) {
		bool kernel = want_kernel();
		int t = kernel ? 0 : coin(70) ? cur : (int)pick(ntops);

		if (PAE && !kernel && coin(10))
			op_pdpte(t, hot_slot(false) >> 30);
		else
			op_dir(kernel, t, va_in(hot_slot(kernel)));
	} else if (r < 66)
		op_flush();
	else if (r < 76)
		op_switch();
	else if (r < 82)
		op_translate();
	else if (r < 87)
		op_edit_flush();
	else if (r < 89)
		op_retire();
	else if (r < 92)
		op_update_range();
	else if (r < 94)
		op_mmu_update();
	else if (r < 96)
		op_protect_range();
	else
		op_access();
}

static const u32 kbases_2level[] = { 0, 0xc0000000, 0x80000000, 0xbfc00000, 0x00400000 };
static const u32 kbases_pae[] = { 0, 0xc0000000, 0x80000000, 0xb0000000, 0xbfe00000, 0x40200000 };

bool sim_run(const struct sim_options *o)
{
	static const u32 cache_sizes[] = { 1, 2, 4, 8, 8, 3 };
	u32 mem, shadows, kb;
	bool pin, pin_late;
	char why[256];
	unsigned n;

	sim_machine_init();
	memset(&src, 0, sizeof(src));
	src.state = o->seed * 0x2545f4914f6cdd1dull + 1;
	src.data = o->data;
	src.len = o->len;
	run_seed = o->seed;
	run_step = 0;
	run_failed = false;
	stop_run = false;
	tracing = o->trace;
	trace_next = 0;

	mem = o->data ? MiB(1) + pick(256) * PAGE_SIZE : MiB(2) + pick(1536) * PAGE_SIZE;
	shadows = cache_sizes[pick(ARRAY_SIZE(cache_sizes))];
	kb = PAE ? kbases_pae[pick(ARRAY_SIZE(kbases_pae))] : kbases_2level[pick(ARRAY_SIZE(kbases_2level))];
	pin = kb && coin(50);
	pin_late = coin(50);
	sim_guest_new(mem, shadows, kb);
	max_tops = 2 + pick(MAX_TOPS - 1);
	choose_hot();
	if (PAE)
		for (unsigned i0 = 0; i0 < 4; i0++)
			if (gib_all_kernel(i0))
				kpmd[i0] = sim_table_alloc();
	pressure = coin(15);
	if (pressure)
		sim_hog_frames(pick(48));
	note("guest: %u KiB, %u cached shadows, kernel at 0x%x, up to %u top levels%s%s", mem / 1024,
	     shadows, kb, max_tops, pin ? ", pinned stack" : "",
	     pressure ? ", memory pressure" : "");
	sim_totals.seeds++;

	/* Linear boot mapping: accesses, and the first tables built in memory. */
	top_new();
	n = 2 + pick(8);
	for (unsigned i = 0; i < n && alive() && !run_failed; i++, run_step++) {
		unsigned r = pick(5);

		if (r == 0)
			op_access();
		else if (r == 1)
			op_translate();
		else if (r == 2)
			coin(50) ? op_update_range() : op_protect_range();	/* no shadow to reach yet */
		else
			op_leaf(want_kernel(), true);
		check_all(true);
	}
	if (pin && !pin_late && alive())
		setup_stack();
	if (alive() && !run_failed)
		switch_to(0);
	if (pin && pin_late && alive() && !run_failed)
		setup_stack();
	if (alive())
		check_all(true);

	for (unsigned i = 0; i < o->steps && alive() && !run_failed; i++, run_step++) {
		if (src.data && src.out)
			break;
		step(o->raw);
		sim_totals.steps++;
		if (alive() && cur >= 0)
			check_all(true);
		if (stop_run)
			break;
	}
	if (alive() && !run_failed && !stop_run && cur >= 0) {
		/* After a flush of everything nothing may be stale. */
		flush(UMBRA_FLUSH_ALL, 0);
		if (alive())
			check_all(true);
	}
	if (o->hostile && (!o->data || coin(50)) && alive() && !run_failed && !stop_run && cur >= 0) {
		hostile(o->data ? pick(H_KINDS) : (unsigned)(o->seed % H_KINDS));
		check_all(false);
	}
	if (!alive())
		check_all(false);
	sim_totals.evictions += g->shadow.evictions;
	sim_totals.starved += starved();
	sim_unhog_frames();
	if (!sim_guest_end(why, sizeof(why)))
		fail(CK_LEAK, "%s", why);
	return !run_failed;
}
