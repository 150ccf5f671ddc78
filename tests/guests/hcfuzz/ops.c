/*
 * Segments, gates, int n, exceptions, the timer, and random byte strings
 * run as ring-3 code (and, for mode=ring1, as ring-1 code in a sandbox).
 */
#include "fz.h"

extern u32 fz_out_ss, fz_ss_base;
u32 sel_check(u32 sel, int cpl);
u32 after_iret3(u32 sel);
u32 random_sel(int cpl);
int check_trap(const char *name, unsigned i, const struct xtrap *x);
void xtrap_for(struct xtrap *x, unsigned v, int ring, u32 flags, u32 eip, u32 esp, int direct);
void check_simple_op(const char *name, int ring, const struct fz_in *in, const struct xtrap *x,
		     u32 eax_skip);
u32 pick_stack(struct fz_in *in, int allow_tls);
int do_hcall_in(const struct call *c, struct fz_in *preset);
void call_init_pt(struct call *c, u32 nr, const char *what);
void gen_set_trap_public(struct call *c);
void gen_set_tls_public(struct call *c);
extern u32 fz_op_esp;
extern int fz_iret_vm;

/* ---- the gate model ----------------------------------------------------- */

int gate_present(unsigned v)
{
	return v < 256 && (M.gate[v] & (1ull << 47));
}

int gate_dpl(unsigned v)
{
	return (int)((M.gate[v] >> 45) & 3);
}

int gate_is_trap(unsigned v)
{
	return gate_present(v) && ((M.gate[v] >> 40) & 0xf) == UMBRA_GATE_TRAP;
}

int has_errcode(unsigned v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

/* Vectors whose gate must always be there: an exception without one kills. */
int is_essential(unsigned v)
{
	return (v < 32 && v != 2 && v != 7 && v != 8 && v != 18) || v == 32 || v == RET_VEC;
}

static void install(unsigned v, unsigned type, unsigned dpl)
{
	u64 g = umbra_gate(fz_stub(v), type, dpl);

	hc_plain(UMBRA_HC_SET_TRAP, v, (u32)g, (u32)(g >> 32), 0);
	M.gate[v] = g;
}

void gates_setup(void)
{
	for (unsigned v = 0; v < 256; v++)
		if (is_essential(v))
			install(v, v == 32 || v == RET_VEC || chance(50) ? UMBRA_GATE_INTR : UMBRA_GATE_TRAP,
				v == 1 || v == 3 || v == 4 || v == RET_VEC || chance(30) ? 3 : 1);
	for (unsigned i = 0; i < 16; i++) {
		unsigned v = 48 + rn(208);

		if (v != HC && !is_essential(v))
			install(v, chance(50) ? UMBRA_GATE_INTR : UMBRA_GATE_TRAP, 1 + 2 * rn(2));
	}
}

/* ---- TLS descriptors -------------------------------------------------- */

static u64 seg_desc(u32 base, u32 limit20, u32 access, u32 flags)
{
	return (limit20 & 0xffffull) | ((u64)(base & 0xffffff) << 16) | ((u64)access << 40) |
	       ((u64)((limit20 >> 16) & 0xf) << 48) | ((u64)(flags & 0xf) << 52) |
	       ((u64)(base >> 24) << 56);
}

/* A descriptor SET_TLS accepts: present (code or data, DPL 1 or 3, fits), or not present. */
u64 tls_desc_random(int valid)
{
	static const u32 bases[] = { 0, 0, 0x1000, 0x10000, DFR, DFR + 0x123, 0x100000, WIN,
				     KBASE, 0x7fffffff, SWBASE - 0x1000 };
	u32 base, limit, g, access, flags, dpl = chance(50) ? 1 : 3, eff, room;

	if (!valid)
		return (((u64)boundary32() << 32) | boundary32()) & ~(1ull << 47);
	if (chance(20)) {		/* a stack segment for ring 1 */
		base = chance(50) ? 0 : 0x10000;
		room = SWBASE - 1 - base;
		return seg_desc(base, room >> 12, 0x80 | 0x10 | (1 << 5) | 0x3, 0xc);
	}
	base = chance(80) ? PICK(bases) : boundary32();
	if (base >= SWBASE - 0x1000)
		base = SWBASE - 0x1000;
	g = chance(50);
	room = SWBASE - 1 - base;		/* base + limit must stay below the Switcher */
	if (chance(20))
		limit = g ? room >> 12 : (room > 0xfffff ? 0xfffff : room);
	else
		limit = chance(50) ? rn(0x100000) : rn(0x100);
	eff = g ? (limit << 12) | 0xfff : limit;
	while ((u64)base + eff > room + (u64)base) {
		limit >>= 1;
		eff = g ? (limit << 12) | 0xfff : limit;
	}
	if (chance(65))			/* data: writable or not, never expand-down */
		access = 0x10 | (chance(70) ? 0x2 : 0) | (chance(50) ? 1 : 0);
	else				/* code: readable or not, never conforming */
		access = 0x18 | (chance(70) ? 0x2 : 0) | (chance(50) ? 1 : 0);
	access |= 0x80 | (dpl << 5);
	flags = (g ? 0x8 : 0) | (chance(80) ? 0x4 : 0) | (chance(20) ? 0x1 : 0);
	return seg_desc(base, limit, access, flags);
}

/* SET_TLS with the slot's selectors loaded in some of the segment registers. */
void op_tls(void)
{
	struct call c;
	struct fz_in in;

	gen_set_tls_public(&c);
	random_gprs(&in);
	random_segs(&in, 1);
	for (unsigned s = 0; s < 4; s++) {
		u32 sel = (0x40 + 8 * (u32)c.tls_slot) | rn(4);

		if (chance(40) && sel_check(sel, 1) == 0)
			(&in.gs)[s] = sel;
	}
	do_hcall_in(&c, &in);
}

void op_gate(void)
{
	struct call c;

	gen_set_trap_public(&c);
	do_hcall_in(&c, 0);
}

/* ---- loading segment registers ------------------------------------------ */

void op_segload(void)
{
	static const u32 sels[] = { 0, 1, 3, 0x08, 0x10, 0x18, 0x19, 0x1b, 0x20, 0x21, 0x23, 0x28,
				    0x2b, 0x30, 0x33, 0x38, 0x3b, 0x40, 0x41, 0x43, 0x48, 0x49, 0x4b,
				    0x50, 0x51, 0x53, 0x58, 0x5b, 0x0c, 0x44, 0xfff8, 0xffff };
	char *const s1[4][3] = { { sn_ld_ds, sn_ld_ds_at, sn_ld_ds_after },
				 { sn_ld_es, sn_ld_es_at, sn_ld_es_after },
				 { sn_ld_fs, sn_ld_fs_at, sn_ld_fs_after },
				 { sn_ld_gs, sn_ld_gs_at, sn_ld_gs_after } };
	char *const s3[4][3] = { { u3_ld_ds, u3_ld_ds_at, u3_ld_ds_after },
				 { u3_ld_es, u3_ld_es_at, u3_ld_es_after },
				 { u3_ld_fs, u3_ld_fs_at, u3_ld_fs_after },
				 { u3_ld_gs, u3_ld_gs_at, u3_ld_gs_after } };
	struct fz_in in, want;
	struct xtrap x;
	int ring = chance(40) ? 3 : 1, seg = (int)rn(4);
	u32 sel = chance(80) ? PICK(sels) : rn(0x10000), r, esp;

	if ((fz_skip & SKIP_LDT) && (sel & 4))
		sel &= ~4u;
	char *const *sn = ring == 1 ? s1[seg] : s3[seg];
	u32 *slot[4] = { &want.ds, &want.es, &want.fs, &want.gs };
	char name[48];

	random_gprs(&in);
	random_segs(&in, ring);
	in.eflags = random_eflags();
	in.eax = (rnd() & 0xffff0000u) | sel;
	r = sel_check(sel, ring);
	umbra_snprintf(name, sizeof(name), "segment load: ring-%d %s=0x%x", ring,
		       (const char *[]){ "ds", "es", "fs", "gs" }[seg], sel);
	trace("op %u: %s eflags 0x%x, expect %s 0x%x", fz_op, name, in.eflags,
	      r ? "fault" : "ok", r);
	if (ring == 1) {
		esp = pick_stack(&in, 0);
		run_op1(&in, sn[0], sn[1], sn[2]);
		esp = fz_xesp;
	} else {
		run_op3(&in, sn[0], sn[1], sn[2]);
		esp = fz_in.esp;
	}
	want = in;
	if (ring == 3) {
		want.ds = after_iret3(in.ds), want.es = after_iret3(in.es);
		want.fs = after_iret3(in.fs), want.gs = after_iret3(in.gs);
	}
	if (r) {
		xtrap_for(&x, r >> 16, ring, in.eflags, (u32)(uintptr_t)sn[1], esp, 0);
		x.has_err = 1;
		x.err = r & 0xffff;
		if (ring == 3) {
			/* check_simple_op nulls them again for ring 3 */
			want = in;
		}
		check_simple_op(name, ring, &want, &x, 0);
		return;
	}
	*slot[seg] = sel;
	if (ring == 3) {
		/* compare what ring 3 holds: after_iret3() leaves DPL-3 selectors alone */
		want.ds = ring == 3 ? want.ds : want.ds;
		in = want;
	}
	check_simple_op(name, ring, &want, 0, 0);
}

/* ---- int n ---------------------------------------------------------------- */

void op_int(void)
{
	static const u32 vecs[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 17, 18, 19, 20, 21, 29,
				    30, 31, 32, 33, 40, 47, 48, 49, 0x80, 0x81, 0x82, 0xfd, RET_VEC,
				    0xff };
	struct fz_in in;
	struct xtrap x;
	int ring = chance(40) ? 3 : 1, gp, direct;
	u32 n = chance(70) ? PICK(vecs) : rn(256), esp, at, after;
	char name[48];

	if (ring == 1 && n == HC)
		n = 0x83;
	if (ring == 3 && n == RET_VEC)
		n = 0xfd;
	if (n == 7 && gate_present(7) && (fz_skip & SKIP_INT7))
		n = 6;
	random_gprs(&in);
	random_segs(&in, ring);
	in.eflags = random_eflags();
	gp = (ring == 3 && n == HC) || has_errcode(n) || (n >= 32 && n < 48) || !gate_present(n) ||
	     (ring == 3 && gate_dpl(n) < 3);
	direct = !gp && n == M.syscall_vector && gate_is_trap(n);
	umbra_snprintf(name, sizeof(name), "int 0x%x from ring %d", n, ring);
	trace("op %u: %s eflags 0x%x, expect %s", fz_op, name, in.eflags, gp ? "#GP" : "the gate");
	if (ring == 1) {
		char *e = fz_intn_table + INTN_STRIDE * n;

		esp = pick_stack(&in, 1);
		at = (u32)(uintptr_t)e + 1, after = at + 2;
		run_op1(&in, e, (char *)(uintptr_t)at, (char *)(uintptr_t)after);
		esp = fz_xesp;
	} else {
		char *e = fz_intn3_table + INTN3_STRIDE * n;

		at = (u32)(uintptr_t)e, after = at + 2;
		run_op3(&in, e, e, (char *)(uintptr_t)after);
		esp = fz_in.esp;
	}
	if (n == 7 && !gp) {
		/* #NM is the hypervisor's: int 7 cannot reach the guest. */
		unsigned other;

		count_db(&other);
		if (other < fz_ntraps && other < MAXTRAPS && fz_traps[other].f.vector == 7)
			note("int 7", "int $7 reached the guest's gate");
		else if (other >= fz_ntraps || (ring == 3 && fz_traps[other].f.vector == RET_VEC))
			note("int 7", "int $7 with a gate installed did nothing (the hypervisor took it as #NM)");
		return;
	}
	if (gp) {
		xtrap_for(&x, 13, ring, in.eflags, at, esp, 0);
		x.err = n * 8 + 2;
	} else {
		xtrap_for(&x, n, ring, in.eflags, after, esp, direct);
	}
	check_simple_op(name, ring, &in, &x, 0);
}

/* ---- exceptions ------------------------------------------------------------ */

struct exc {
	const char *name;
	char *r1, *r1at, *r1after, *r3, *r3at, *r3after;
};

#define EXC(n) { #n, sn_##n, sn_##n##_at, sn_##n##_after, u3_##n, u3_##n##_at, u3_##n##_after }
static const struct exc excs[] = {
	EXC(ud2), EXC(div), EXC(int3), EXC(into), EXC(bound), EXC(int1), EXC(cli), EXC(hlt),
	EXC(in), EXC(nop), EXC(hcall), EXC(crd),
};

void op_exc(void)
{
	struct fz_in in;
	struct xtrap x;
	const struct exc *e = &excs[rn(sizeof(excs) / sizeof(excs[0]))];
	int ring = chance(40) ? 3 : 1, fault = 1, trap = 0;
	unsigned v = 0;
	u32 err = 0, esp, at, after;
	char name[48];

	if (e->r1 == sn_hcall && ring == 1)
		e = &excs[0];
	if (e->r1 == sn_crd)
		ring = 1;
	random_gprs(&in);
	random_segs(&in, ring);
	in.eflags = random_eflags();
	if (e->r1 == sn_ud2)
		v = 6;
	else if (e->r1 == sn_div) {
		v = 0;
		if (chance(50))
			in.ecx = 0;
		else
			in.ecx = 1 + rn(16), in.edx = in.ecx + rn(100);	/* quotient too large */
	} else if (e->r1 == sn_int3 || e->r1 == sn_into) {
		v = e->r1 == sn_int3 ? 3 : 4;
		if (v == 4 && !(in.eflags & F_OF))
			fault = 0;
		else if (ring == 3 && gate_dpl(v) < 3)
			v = 13, err = (e->r1 == sn_int3 ? 3 : 4) * 8 + 2;
		else
			trap = 1;
	} else if (e->r1 == sn_bound) {
		in.eax = chance(50) ? 0x100 + rn(0xf01) : boundary32();
		v = 5;
		fault = (int32_t)in.eax < 0x100 || (int32_t)in.eax > 0x1000;
	} else if (e->r1 == sn_int1) {
		v = 1, trap = 1;
		in.eflags &= ~F_TF;	/* one #DB: this one */
	} else if (e->r1 == sn_nop) {
		fault = 0;
	} else if (e->r1 == sn_hcall) {
		v = 13, err = HC * 8 + 2;
	} else {
		v = 13;		/* cli, hlt, in, mov from cr0: privileged */
	}
	umbra_snprintf(name, sizeof(name), "%s in ring %d", e->name, ring);
	trace("op %u: %s eflags 0x%x eax 0x%x ecx 0x%x edx 0x%x, expect %s %u", fz_op, name,
	      in.eflags, in.eax, in.ecx, in.edx, fault ? "vector" : "nothing", v);
	if (ring == 1) {
		esp = pick_stack(&in, 1);
		run_op1(&in, e->r1, e->r1at, e->r1after);
		esp = fz_xesp;
		at = (u32)(uintptr_t)e->r1at, after = (u32)(uintptr_t)e->r1after;
	} else {
		run_op3(&in, e->r3, e->r3at, e->r3after);
		esp = fz_in.esp;
		at = (u32)(uintptr_t)e->r3at, after = (u32)(uintptr_t)e->r3after;
	}
	if (!fault) {
		check_simple_op(name, ring, &in, 0, 0);
		return;
	}
	xtrap_for(&x, v, ring, in.eflags, trap ? after : at, esp, 0);
	x.err = err;
	if (v == 1) {
		/* icebp: a trap like int1; some CPUs report the instruction itself */
		x.eip2 = at;
		if (fz_ntraps && fz_traps[0].f.vector == 6 && fz_traps[0].f.eip == at) {
			note("icebp", "this CPU raises #UD for icebp (0xf1), not #DB");
			x.vector = 6, x.eip = at, x.eip2 = 0;
		}
	}
	check_simple_op(name, ring, &in, &x, 0);
}

/* ---- the timer ------------------------------------------------------------ */

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

void check_flags(const char *name, u32 loaded, u32 got, int hcall);

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
	xtrap_for(&x, 32, 1, in.eflags, (u32)(uintptr_t)sn_hcall_after, fz_xesp, 0);
	(void)esp;
	count_db(&other);
	if (other >= fz_ntraps || other >= MAXTRAPS)
		violation(name, "no timer interrupt (irq_pending 0x%x)", S->irq_pending);
	else
		check_trap(name, other, &x);
	if (S->irq_pending & 1)
		violation(name, "irq_pending 0x%x after delivery", S->irq_pending);
	if ((int32_t)fz_out.eax != 0)
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
			xtrap_for(&x, 32, 1, in.eflags, (u32)(uintptr_t)sn_hcall_after, fz_xesp, 0);
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

/* ---- random code ------------------------------------------------------------ */

/* Bytes that make interesting instructions more likely. */
static u8 random_byte(void)
{
	static const u8 hot[] = { 0xcd, 0xcc, 0xce, 0xf1, 0x9d, 0x9c, 0xcf, 0xca, 0xcb, 0x8e, 0x8c,
				  0x0f, 0x01, 0x00, 0x34, 0x35, 0x05, 0x0b, 0x9a, 0xea, 0x62, 0xf4,
				  0xfa, 0xfb, 0xe4, 0xec, 0x17, 0x07, 0x1f, 0xc4, 0xc5, 0xb2, 0xf0,
				  0x66, 0x67, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0xd8, 0xdf,
				  0x48, 0x50, 0x58, 0xff, 0x82, 0xfe, 0x20, 0x22, 0x02, 0x03 };

	return chance(40) ? PICK(hot) : (u8)rnd();
}

/*
 * Ring-1 code that loads esp with junk gets the guest killed (the next
 * frame has nowhere to go), which ends the run: most ways of writing esp
 * are taken out. What remains (and ss) still ends some runs.
 */
static void keep_esp(u8 *p, u32 len)
{
	static const u8 to_reg[] = { 0x8b, 0x03, 0x2b, 0x33, 0x23, 0x0b, 0x13, 0x1b, 0x8d, 0x8a,
				     0xc5, 0x69, 0x6b };
	static const u8 to_rm[] = { 0x89, 0x01, 0x29, 0x31, 0x21, 0x09, 0x11, 0x19, 0x87, 0x81,
				    0x83, 0xc1, 0xd1, 0xf7, 0xff, 0xc7, 0xd3, 0x85, 0x8f, 0x8c,
				    0xc0, 0xd0, 0xd2, 0xf6, 0x80, 0x0f };

	for (u32 i = 0; i < len; i++) {
		u8 b = p[i];

		if (b == 0x5c || b == 0x94 || b == 0xbc || b == 0xc9 || b == 0xca || b == 0xcb ||
		    b == 0x17 || b == 0xc4 || b == 0xc2 || b == 0xc8)
			p[i] = 0x90;
		if (i + 1 >= len)
			continue;
		for (unsigned k = 0; k < sizeof(to_reg); k++)
			if (b == to_reg[k] && ((p[i + 1] >> 3) & 7) == 4)
				p[i + 1] ^= 0x08;
		for (unsigned k = 0; k < sizeof(to_rm); k++)
			if (b == to_rm[k] && (p[i + 1] & 0xc7) == 0xc4)
				p[i + 1] ^= 0x01;
		if (b == 0x8e && ((p[i + 1] >> 3) & 7) == 2)	/* mov to ss */
			p[i + 1] ^= 0x08;
		if (b == 0x0f && p[i + 1] == 0xb2)		/* lss */
			p[i + 1] = 0x1f;
	}
}

static void random_code(u8 *p, u32 len, u32 room)
{
	for (u32 i = 0; i < len; i++)
		p[i] = random_byte();
	/* No hypercalls: no CD 82 anywhere. */
	for (u32 i = 0; i + 1 < len; i++)
		if (p[i] == 0xcd && p[i + 1] == 0x82)
			p[i + 1] = 0x83;
	if (len && p[len - 1] == 0xcd)
		p[len - 1] = 0x90;
	/* QEMU's iret honours EFLAGS.VM below ring 0: keep out of virtual-8086 mode */
	for (u32 i = 0; !fz_iret_vm && i < len; i++)
		if (p[i] == 0xcf)
			p[i] = 0x90;
	/* skip=df: no popf or std either, which would hand the hypervisor DF */
	for (u32 i = 0; (fz_skip & SKIP_DF) && i < len; i++)
		if (p[i] == 0x9d || p[i] == 0xfd)
			p[i] = 0x90;
	for (u32 i = len; i < room; i++)
		p[i] = 0xcc;
}

/* A watchdog for code that may loop: the timer, delivered because irq_enabled is set. */
static void watchdog(void)
{
	u64 ns = 2000000 + rn(3000000);

	timer_quiesce();
	hc_plain(UMBRA_HC_SET_TIMER, (u32)ns, 0, 0, 0);
	M.timer_armed = 1;
	M.timer_clean = 1;
	M.pending_possible = 1;
	M.timer_ns = ns;
	M.timer_t0 = umbra_rdtsc();
}

void op_code3(void)
{
	u8 *code = (u8 *)(uintptr_t)UCODE;
	u32 len = 1 + rn(48);
	struct fz_in in;

	random_code(code, len, 0x1000);
	code[len] = 0xcd, code[len + 1] = RET_VEC;
	in.eax = USTK + rn(0x2000), in.ebx = USTK + rn(0x2000), in.ecx = rn(3) ? USTK + rn(0x2000) : rnd();
	in.edx = UCODE + rn(0x1000), in.esi = USTK + rn(0x2000), in.edi = USTK + rn(0x2000);
	in.ebp = USTK + 0x1000 + rn(0x1000), in.esp_ = 0;
	random_segs(&in, 3);
	in.eflags = random_eflags();
	if (fz_trace) {
		char hex[3 * 49 + 1];

		for (u32 i = 0; i < len; i++)
			umbra_snprintf(hex + 3 * i, 4, " %02x", code[i]);
		trace("op %u: ring-3 code, %u bytes:%s", fz_op, len, hex);
	}
	watchdog();
	M.irq = 1;
	fz_escape_all = 1;
	run_op3(&in, (char *)code, (char *)code, 0);
	fz_escape_all = 0;
	M.irq = 0;
	timer_quiesce();
	/* What can be checked of an unknown instruction: the frame is a ring-3 frame. */
	if (fz_ntraps) {
		const struct fz_trap *t = &fz_traps[0];
		const struct fz_frame *f = &t->f;
		char name[32];

		umbra_snprintf(name, sizeof(name), "ring-3 code vector %u", f->vector);
		if ((f->cs & 3) != 3 || (f->ss & 3) != 3)
			violation(name, "frame cs/ss 0x%x/0x%x are not ring 3's", f->cs, f->ss);
		if (t->frame_at != M.esp1 - 20)
			violation(name, "frame at 0x%x, expected 0x%x", t->frame_at, M.esp1 - 20);
		if (f->hflags & (F_TF | F_NT | F_VM | F_IOPL) || !(f->hflags & F_IF))
			violation(name, "handler runs with eflags 0x%x", f->hflags);
		if (f->eflags & (F_IOPL | F_VM) || !(f->eflags & F_IF))
			violation(name, "frame eflags 0x%x", f->eflags);
		if (f->vector == 2 || f->vector == 7 || f->vector == 8 || f->vector == 18 ||
		    !gate_present(f->vector))
			violation(name, "reached the guest (gate %s)", gate_present(f->vector) ? "yes" : "no");
		/*
		 * U clear from ring 3: an implicit supervisor access (a descriptor read,
		 * say from the LDT the guest should not have), or QEMU's far return,
		 * which reads the stack as the supervisor. The hypervisor passes it on.
		 */
		if (f->vector == 14 && !(f->error & 4))
			note("ring-3 page fault", "error code 0x%x without U (cr2 0x%x): a supervisor "
			     "access made for ring 3", f->error, t->cr2);
		if (t->hcs != UMBRA_KERNEL_CS)
			violation(name, "handler cs 0x%x", t->hcs);
	} else {
		violation("ring-3 code", "came back without a trap");
	}
}

extern u32 fz_sbx_rw[];
void fz_sandbox_run(u32 sbx_top, u32 main_top);
extern u32 fz_sandbox;

/* mode=ring1: random ring-1 code under a table that hides everything that matters. */
void op_code1(void)
{
	u8 *code = (u8 *)(uintptr_t)SBX_CODE;
	u32 len = 1 + rn(32);
	struct fz_in in;

	code[0] = 0x9d;		/* popfl: the chosen EFLAGS */
	random_code(code + 1, len, 0xfff);
	keep_esp(code + 1, len + 1);	/* with the first int3 after it: cc is also a ModRM for esp */
	random_gprs(&in);
	in.eax = SBX + rn(0xf000), in.ebx = SBX + rn(0xf000), in.ecx = SBX + rn(0xf000);
	in.edx = SBX + rn(0xf000), in.esi = SBX + rn(0xf000), in.edi = SBX + rn(0xf000);
	in.ebp = SBX + rn(0xf000);
	random_segs(&in, 1);
	in.eflags = random_eflags();
	in.eip = SBX_CODE;
	in.ss = UMBRA_KERNEL_DS;
	fz_xesp = SBX + 0x1000 + 4 * rn(0x3800);
	if (fz_trace) {
		char hex[3 * 65 + 1];

		for (u32 i = 0; i < len; i++)
			umbra_snprintf(hex + 3 * i, 4, " %02x", code[1 + i]);
		trace("op %u: ring-1 code, %u bytes, esp 0x%x:%s", fz_op, len, fz_xesp, hex);
	}
	watchdog();
	fz_in = in;
	fz_ntraps = 0;
	fz_sandbox_run(M.sbx_top, cur_top());
	fz_sandbox = 0;
	fz_xesp = 0;
	S->irq_enabled = 0;
	M.irq = 0;
	timer_quiesce();
	if ((fz_sbx_rw[3] & 3) == 0 || fz_sbx_rw[0] > 255)
		violation("ring-1 code", "trap frame: vector %u cs 0x%x eip 0x%x", fz_sbx_rw[0],
			  fz_sbx_rw[3], fz_sbx_rw[1]);
}
