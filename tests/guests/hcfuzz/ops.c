/*
 * Segments, gates, int n, exceptions, the timer, and random byte strings
 * run as ring-3 code (and, for mode=ring1, as ring-1 code in a sandbox).
 */
#include "fz.h"

extern u32 fz_ss_base;

extern u32 fz_out_ss, fz_ss_base;
void check_simple_op(const char *name, int ring, const struct fz_in *in, const struct xtrap *x,
		     u32 eax_skip);
extern u32 fz_op_esp;

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
	if (!(access & 0x8) && (access & 0x2))
		flags |= 0x4;		/* a 16-bit writable data segment is refused (killed) */
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
	direct = !gp && M.syscall_vector && n == M.syscall_vector && gate_is_trap(n);
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
		if (e->r1 == sn_bound) {	/* %ss:fz_bound_pair: the stack may have a base */
			const int32_t *pair = (const int32_t *)(uintptr_t)(fz_ss_base +
									   (u32)(uintptr_t)fz_bound_pair);

			fault = (int32_t)in.eax < pair[0] || (int32_t)in.eax > pair[1];
			if (!fault)
				v = 0;
		}
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
