/*
 * MULTICALL: batches of random calls, short or up to the 4096 limit (long
 * ones repeat cheap or expensive calls: FLUSH_ALL, NEW_PGTABLE among the
 * tops, SET_PTE, console writes), with the list in its usual place,
 * unaligned, or ending at the last byte of guest memory. Each entry's
 * result is checked, and the call itself like any other hypercall.
 */
#include "fz.h"

/* ---- batches: what earlier entries depend on ---------------------------- */

/*
 * In a batch every entry is generated (and its table write made) before any
 * runs, so a later entry must not change a table entry that an earlier one
 * read (its result depends on it) or stores (the store would undo a silent
 * write made after it). Those addresses go into this set.
 */
#define NDEPS	1024
static u32 bdeps[NDEPS];
static unsigned nbdeps;
int batch_deps_full;

int in_batch(void)
{
	return batch_open;
}

static void deps_clear(void)
{
	__builtin_memset(bdeps, 0, sizeof(bdeps));
	nbdeps = 0;
	batch_deps_full = 0;
}

void batch_dep_add(u32 addr)
{
	u32 h = (addr * 2654435761u) >> 22;

	if (!batch_open)
		return;
	if (nbdeps >= NDEPS / 2) {
		batch_deps_full = 1;
		return;
	}
	while (bdeps[h] && bdeps[h] != addr)
		h = (h + 1) % NDEPS;
	if (!bdeps[h])
		bdeps[h] = addr, nbdeps++;
}

/* May a table entry at addr change now without changing an earlier entry's result? */
int batch_dep_free(u32 addr)
{
	u32 h = (addr * 2654435761u) >> 22;

	if (!batch_open)
		return 1;
	if (batch_deps_full)
		return 0;
	while (bdeps[h]) {
		if (bdeps[h] == addr)
			return 0;
		h = (h + 1) % NDEPS;
	}
	return 1;
}

/* ---- MULTICALL -------------------------------------------------------------- */

static struct call bcalls[UMBRA_MULTICALL_MAX];

#define SENTINEL	0x5a5a5a5a

/* Cheap and expensive calls, repeated: long batches. */
static void gen_long(struct call *c, unsigned kind)
{
	switch (kind) {
	case 0:
		gen_flush(c);
		if (c->a[0] > 2)
			c->a[0] = UMBRA_FLUSH_ALL, c->expect = 0, c->stale_and = 0;
		break;
	case 1:
		if (chance(30))
			gen_switch(c);
		else
			gen_new_pgtable(c);
		break;
	case 2:
		gen_pt_call(c);
		break;
	case 3:
		call_init(c, UMBRA_HC_CONSOLE_WRITE);
		c->what = "console_write";
		c->a[0] = (u32)(uintptr_t)crbuf;
		c->a[1] = rn(8);
		c->expect = (int32_t)c->a[1];
		break;
	default:
		call_init(c, chance(50) ? UMBRA_HC_IRQ_ENABLE : UMBRA_HC_YIELD);
		c->what = "cheap";
		break;
	}
}

void op_multicall(void)
{
	struct umbra_multicall *mc;
	struct fz_in in;
	u32 n, segs[4], esp, list;
	int longb = !(fz_skip & SKIP_BIGMC) && rn(1000) < 12;
	unsigned mix = rn(6);
	int sleeper = -1;
	char name[48];

	if (longb)
		n = chance(30) ? UMBRA_MULTICALL_MAX : 64 + rn(UMBRA_MULTICALL_MAX - 63);
	else
		n = chance(5) ? 0 : 1 + rn(chance(70) ? 8 : 64);
	/* The list: the usual place, unaligned, or ending at the last byte of memory. */
	list_at_top = !longb && n <= 64 && chance(15);
	if (list_at_top)
		list = M.mem - n * sizeof(*mc);
	else
		list = MCLIST + (chance(20) ? 1 + rn(23) : 0);
	mc = (struct umbra_multicall *)(uintptr_t)list;

	/* The registers first: SET_TLS entries must know which selectors are live. */
	random_gprs(&in);
	random_segs(&in, 1);
	in.eflags = random_eflags();
	esp = pick_stack(&in, 1);
	segs[0] = in.gs, segs[1] = in.fs, segs[2] = in.es, segs[3] = in.ds;

	batch_open = 1;
	batch_shared = 0;
	deps_clear();
	for (u32 i = 0; i < n; i++) {
		struct call *c = &bcalls[i];

		if (longb && mix < 5 && chance(90))
			gen_long(c, mix);
		else
			gen_call(c, 1);
		if (c->tls_slot >= 0 && (fz_skip & SKIP_MCTLS)) {
			int used = 0;

			for (unsigned s = 0; s < 4; s++)
				used |= (segs[s] >> 3) == 8u + (u32)c->tls_slot;
			if (used)
				call_init(c, UMBRA_HC_YIELD), c->what = "yield";
		}
		mc[i].op = c->nr;
		for (unsigned a = 0; a < 4; a++)
			mc[i].args[a] = c->a[a];
		mc[i].result = SENTINEL;
		apply_call(c, segs);
	}
	batch_open = 0;
	list_at_top = 0;
	(void)sleeper;

	in.eax = UMBRA_HC_MULTICALL;
	in.ebx = list;
	in.ecx = n;
	trace("op %u: multicall(0x%x, %u) eflags 0x%x segs %x/%x/%x/%x ss %x", fz_op, list, n,
	      in.eflags, in.ds, in.es, in.fs, in.gs, in.ss);
	for (u32 i = 0; fz_trace && i < n && i < 64; i++)
		trace("  [%u] %s(0x%x, 0x%x, 0x%x, 0x%x) -> %d", i, bcalls[i].what, bcalls[i].a[0],
		      bcalls[i].a[1], bcalls[i].a[2], bcalls[i].a[3], bcalls[i].expect);
	run_op1(&in, sn_hcall, sn_hcall_at, sn_hcall_after);
	umbra_snprintf(name, sizeof(name), "multicall[%u]", n);
	if (check_after_hcall(name, &in, segs, (int32_t)n, 0, esp) == 0) {
		for (u32 i = 0; i < n; i++) {
			const struct call *c = &bcalls[i];

			if (!c->any_result && mc[i].result != c->expect) {
				fz_vkey = c->what;
				violation("multicall entry", "entry %u of %u, %s(0x%x, 0x%x, 0x%x, 0x%x): "
					  "result %d, expected %d", i, n, c->what, c->a[0], c->a[1],
					  c->a[2], c->a[3], mc[i].result, c->expect);
				break;
			}
		}
	}
	if (list >= M.mem - CRBUF_LEN)
		__builtin_memset((void *)(uintptr_t)(M.mem - CRBUF_LEN), '\r', CRBUF_LEN);
	timer_check_early(name);
}

