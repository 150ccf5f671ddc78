/*
 * Random hypercalls, each with the result the ABI promises. Arguments are
 * boundary-biased but always either valid or invalid in a way the ABI
 * answers with UMBRA_EINVAL: a call that would kill the fuzzer is never
 * made here (main.c's mode=fatal makes one on purpose).
 *
 * A call runs from sn_hcall with random registers, segment registers
 * (sometimes a TLS stack segment) and EFLAGS, and afterwards eax must be
 * the result, every other register as it was, and EFLAGS as the ABI says.
 */
#include "fz.h"

char crbuf[CRBUF_LEN];		/* '\r' only: console writes that print nothing */
extern u32 fz_out_ss, fz_ss_base;

int hc_ss_slot = -1;		/* the TLS slot holding ss during the op, if any */
int batch_shared;	/* a SET_SHARED is already in this batch */
int batch_open;
int list_at_top;		/* this batch's list lies in the '\r' area at the top */
u64 hc_pre_tsc;			/* TSC just before the op's hypercall */

/* ---- the calls ---------------------------------------------------------- */


void crbuf_init(void)
{
	__builtin_memset(crbuf, '\r', sizeof(crbuf));
	__builtin_memset((void *)(uintptr_t)(M.mem - CRBUF_LEN), '\r', CRBUF_LEN);
}

void call_init(struct call *c, u32 nr)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->nr = nr;
	c->tls_slot = -1;
	c->gate_vec = -1;
	c->new_cur = -1;
	c->stale_and = ~0u;
}

static void gen_console(struct call *c)
{
	u32 len, buf;

	call_init(c, UMBRA_HC_CONSOLE_WRITE);
	switch (rn(5)) {
	case 0:		/* nothing to write: any buffer will do */
		buf = boundary32();
		len = 0;
		break;
	case 1:		/* ending at the last byte of guest memory */
		if (list_at_top) {
			len = 0, buf = 0;
			break;
		}
		len = 1 + rn(chance(20) ? 4096 : 16);
		buf = M.mem - len;
		break;
	case 2: {	/* the boundaries of the length */
		static const u32 lens[] = { 1, 2, 127, 128, 129, 4095, 4096 };

		len = PICK(lens);
		buf = (u32)(uintptr_t)crbuf + rn(CRBUF_LEN - len + 1);
		break;
	}
	default:
		len = rn(40);
		buf = (u32)(uintptr_t)crbuf + rn(CRBUF_LEN - len + 1);
		break;
	}
	c->a[0] = buf;
	c->a[1] = len;
	c->expect = (int32_t)len;
	c->what = "console_write";
}

static const u32 vectors[] = { 0, 1, 2, 3, 4, 6, 7, 8, 13, 14, 17, 18, 19, 31, 32, 33, 47, 48,
			       0x80, 0x81, 0x82, 0xfd, RET_VEC, 0xff };


static void gen_set_trap(struct call *c)
{
	u32 v = chance(70) ? PICK(vectors) : rn(256);
	u64 gate;

	call_init(c, UMBRA_HC_SET_TRAP);
	c->what = "set_trap";
	c->a[0] = v;
	if (v == 2 || v == 8 || v == 18 || v == HC) {
		/* Never the guest's: refused before the gate is even looked at. */
		gate = chance(50) ? umbra_gate(fz_stub(v), chance(50) ? 0xe : 0xf, 1)
				  : ((u64)boundary32() << 32 | boundary32());
		c->expect = UMBRA_EINVAL;
	} else if (is_essential(v) || chance(75)) {
		unsigned dpl = v == RET_VEC ? 3 : (chance(50) ? 1 : 3);

		gate = umbra_gate(fz_stub(v), chance(50) ? UMBRA_GATE_INTR : UMBRA_GATE_TRAP, dpl);
		gate |= (u64)rn(4) << 16;	/* any RPL in the selector */
		c->gate_vec = (int)v;
		c->gate_new = (gate & ~(0xffffull << 16)) | ((u64)UMBRA_KERNEL_CS << 16);
	} else {
		gate = ((u64)boundary32() << 32 | boundary32()) & ~(1ull << 47);
		c->gate_vec = (int)v;
		c->gate_new = 0;
	}
	c->a[1] = (u32)gate;
	c->a[2] = (u32)(gate >> 32);
}

void gen_set_trap_public(struct call *c)
{
	gen_set_trap(c);
}

static void gen_set_stack(struct call *c)
{
	u32 pages = 1 + rn(2), top = KSTK + 0x2000 * (1 + rn(2)), esp;

	call_init(c, UMBRA_HC_SET_STACK);
	c->what = "set_stack";
	esp = top - (chance(50) ? 0 : 4 * rn(256));
	if (esp - pages * 4096 < KSTK)
		pages = 1;
	c->a[0] = UMBRA_KERNEL_DS;
	c->a[1] = esp;
	c->a[2] = pages;
	c->stack_set = 1;
	c->esp1 = esp;
	c->pages = pages;
}

static void gen_set_tls(struct call *c)
{
	u32 slot = rn(3);
	u64 d;

	if ((int)slot == hc_ss_slot)
		slot = (slot + 1) % 3;
	call_init(c, UMBRA_HC_SET_TLS);
	c->what = "set_tls";
	d = tls_desc_random(!chance(15));
	c->a[0] = slot;
	c->a[1] = (u32)d;
	c->a[2] = (u32)(d >> 32);
	c->tls_slot = (int)slot;
	c->tls_new = (d & (1ull << 47)) ? d | (1ull << 40) : 0;
}

void gen_set_tls_public(struct call *c)
{
	gen_set_tls(c);
}

static void gen_set_shared(struct call *c)
{
	static const u32 sysvecs[] = { 0, 0, 0x80, 48, 255, 0x81, 0x83, 0xfd };
	u32 gpa = chance(50) ? (u32)(uintptr_t)&umbra_shared : SHARED1;
	volatile struct umbra_shared *p = (volatile struct umbra_shared *)(uintptr_t)gpa;
	u32 sv = chance(80) ? PICK(sysvecs) : 48 + rn(208);

	if (sv == HC)
		sv = 0;
	call_init(c, UMBRA_HC_SET_SHARED);
	c->what = "set_shared";
	if (p != S)
		p->irq_enabled = 0;
	p->kernel_base = KBASE;
	p->syscall_vector = sv;
	c->a[0] = gpa;
	c->shared_switch = 1;
	c->shared_gpa = gpa;
	c->sysvec = sv;
}

static void gen_set_timer(struct call *c)
{
	static const u64 ns[] = { 0, 0, 1, 999, 1000, 100000, 1000000, 3000000, 20000000,
				  1ull << 32, 1ull << 40, 1ull << 62, 1ull << 63, ~0ull };
	u64 v = PICK(ns);

	if ((fz_skip & SKIP_HUGETIMER) && v > (1ull << 40))
		v = 0;
	if (M.irq)		/* it could be delivered at any moment */
		v = 0;
	call_init(c, UMBRA_HC_SET_TIMER);
	c->what = "set_timer";
	c->a[0] = (u32)v;
	c->a[1] = (u32)(v >> 32);
	c->timer_set = 1;
	c->timer_ns = v;
}

void gen_flush(struct call *c)
{
	static const u32 bad_kinds[] = { 3, 4, 0xff, 0x80000000u, 0xffffffffu };
	static const u32 vas[] = { 0, 1, WIN, WIN + 0x1000, WIN2, KBASE, SELFVA, 0xfff,
				   SWBASE - 1, SWBASE, 0xffffffffu, 0x1000 };
	/* flushing the whole user part costs the fuzzer its own mappings: mostly one address */
	u32 kind = chance(90) ? (rn(100) < 85 ? UMBRA_FLUSH_ONE : 1 + rn(2)) : PICK(bad_kinds);

	call_init(c, UMBRA_HC_FLUSH_TLB);
	c->what = "flush_tlb";
	c->a[0] = kind;
	c->a[1] = chance(70) ? PICK(vas) : boundary32();
	if (kind > UMBRA_FLUSH_ALL) {
		c->expect = UMBRA_EINVAL;
	} else if (kind == UMBRA_FLUSH_USER) {
		c->stale_and = ~(1u << 31);	/* apply_call: the current top */
	} else if (kind == UMBRA_FLUSH_ALL) {
		c->stale_and = 0;
	}
}

void gen_new_pgtable(struct call *c)
{
	u32 i = rn(NTOPS);

	call_init(c, UMBRA_HC_NEW_PGTABLE);
	c->what = "new_pgtable";
	c->a[0] = M.tops[i];
	c->new_cur = (int)i;
}

/* SWITCH: NEW_PGTABLE, and half the time SET_STACK with it (ecx 0 keeps the stack, edx unread). */
void gen_switch(struct call *c)
{
	u32 i = rn(NTOPS);

	gen_set_stack(c);
	c->nr = UMBRA_HC_SWITCH;
	c->what = "switch";
	c->a[0] = M.tops[i];
	c->new_cur = (int)i;
	if (chance(50)) {
		c->a[1] = 0;
		c->a[2] = chance(50) ? 0 : boundary32();
		c->stack_set = 0;
	}
}

static void gen_halt(struct call *c)
{
	call_init(c, UMBRA_HC_HALT);
	c->what = "halt";
}

/* Any call but MULTICALL, SHUTDOWN, and HALT unless an interrupt is pending. */
void gen_call(struct call *c, int batch)
{
	unsigned r = rn(100);

	if (r < 10)
		gen_console(c);
	else if (r < 14) {
		call_init(c, UMBRA_HC_YIELD);
		c->what = "yield";
	} else if (r < 16 && !(batch && batch_shared))
		gen_set_shared(c), batch_shared |= batch;
	else if (r < 24)
		gen_set_trap(c);
	else if (r < 26)
		gen_set_stack(c);
	else if (r < 34)
		gen_set_tls(c);
	else if (r < 36 && (S->irq_pending & 1) && !batch_shared)
		gen_halt(c);
	else if (r < 39 && !(fz_skip & SKIP_TIMER))
		gen_set_timer(c);
	else if (r < 43) {
		call_init(c, UMBRA_HC_IRQ_ENABLE);
		c->what = "irq_enable";
	} else if (r < 46)
		gen_new_pgtable(c);
	else if (r < 50)
		gen_switch(c);
	else if (r < 58)
		gen_flush(c);
	else
		gen_pt_call(c);
}

/* Null the data segment registers naming `slot` that cannot load its new descriptor. */
static void tls_nulling(u32 *segs, int slot)
{
	for (unsigned i = 0; i < 4; i++)
		if ((segs[i] >> 3) == 8u + (u32)slot && sel_check(segs[i], 1))
			segs[i] = 0;
}

/* The model after c succeeded; segs (gs fs es ds) are the caller's, for SET_TLS. */
void apply_call(const struct call *c, u32 *segs)
{
	if (c->expect < 0)
		return;
	if (c->tls_slot >= 0) {
		M.tls[c->tls_slot] = c->tls_new;
		if (segs)
			tls_nulling(segs, c->tls_slot);
	}
	if (c->gate_vec >= 0)
		M.gate[c->gate_vec] = c->gate_new;
	if (c->shared_switch) {
		M.shared = c->shared_gpa;
		S = (volatile struct umbra_shared *)(uintptr_t)c->shared_gpa;
		M.syscall_vector = c->sysvec;
		M.pending_possible = M.timer_armed;
	}
	if (c->stack_set) {
		M.esp1 = c->esp1;
		M.stack_pages = c->pages;
	}
	if (c->timer_set) {
		/* "never early" is checkable only if nothing could be pending already */
		M.timer_clean = !M.timer_armed && !M.pending_possible;
		M.timer_armed = c->timer_ns != 0;
		M.timer_ns = c->timer_ns;
		M.timer_t0 = batch_open ? umbra_rdtsc() : hc_pre_tsc;
		M.pending_possible |= M.timer_armed;
	}
	if (c->new_cur >= 0)
		M.cur = (u32)c->new_cur;
	if (c->stale_and == ~(1u << 31))
		M.stale &= ~(1u << M.cur);
	else
		M.stale &= c->stale_and;
	M.stale |= c->stale_or;
	apply_pt_call(c);
}

/* ---- running one call ----------------------------------------------------- */

/* A TLS slot that can hold the op's stack: DPL 1 writable data covering it. */
static int stack_slot(u32 esp, u32 *base)
{
	for (int k = 0; k < 3; k++) {
		u64 d = M.tls[k];
		u32 access = (u32)(d >> 40) & 0xff;

		if (!(d & (1ull << 47)) || (access & 0x1e) != 0x12 || ((access >> 5) & 3) != 1 ||
		    !(d & (1ull << 54)))	/* a 32-bit stack segment only */
			continue;
		if (seg_base(d) > esp - 0x1000 || seg_base(d) + seg_limit(d) < esp + 0x100)
			continue;
		*base = seg_base(d);
		return k;
	}
	return -1;
}

/*
 * Pick the op's stack: fz_xesp (linear), and sometimes a TLS stack
 * segment. Sets in->ss and fz_ss_base; returns the esp the op runs with.
 */
u32 pick_stack(struct fz_in *in, int allow_tls)
{
	u32 base = 0;
	int k;

	fz_xesp = XSTK_TOP - 0x1000 - 4 * rn(256);
	in->ss = UMBRA_KERNEL_DS;
	fz_ss_base = 0;
	hc_ss_slot = -1;
	if (allow_tls && !(fz_skip & SKIP_SSTLS) && chance(30) && (k = stack_slot(fz_xesp, &base)) >= 0) {
		in->ss = (0x40 + 8 * (u32)k) | 1;
		fz_ss_base = base;
		hc_ss_slot = k;
	}
	return fz_xesp - fz_ss_base;
}


/*
 * The checks after a ring-1 snippet whose op was a hypercall (or a
 * MULTICALL): result, registers, segments, flags, and the only traps
 * allowed: single steps, and the timer interrupt if one may be delivered.
 */
int check_after_hcall(const char *name, const struct fz_in *in, const u32 *segs_want,
			     int32_t expect, int any_result, u32 esp)
{
	u32 got_flags = fz_out.eflags;
	unsigned other;
	int ndb = count_db(&other);
	u32 got_segs[4] = { fz_out.gs, fz_out.fs, fz_out.es, fz_out.ds };

	check_db_traps(name, in->eflags, 1);
	if (other < MAXTRAPS && other < fz_ntraps) {
		const struct fz_frame *f = &fz_traps[other].f;

		violation(name, "unexpected trap: vector %u error 0x%x at eip 0x%x cs 0x%x eflags 0x%x",
			  f->vector, f->error, f->eip, f->cs, f->eflags);
		return 1;
	}
	if (fz_escaped) {
		violation(name, "escaped from the op");
		return 1;
	}
	if (!any_result && (int32_t)fz_out.eax != expect)
		fz_vkey = name, violation(name, "returned %d (0x%x), expected %d", (int32_t)fz_out.eax, fz_out.eax,
			  expect);
	expect_gprs(name, in, &fz_out.edi, 1u << 7);
	if (fz_out.esp != esp - 4)
		violation(name, "esp 0x%x, expected 0x%x", fz_out.esp + 4, esp);
	expect_segs(name, segs_want, got_segs);
	if ((fz_out_ss & 0xffff) != in->ss)
		violation(name, "ss 0x%x, expected 0x%x", fz_out_ss, in->ss);
	if (ndb)
		got_flags |= F_TF;
	check_flags(name, in->eflags, got_flags, 1);
	return 0;
}

/* The random state for a ring-1 hypercall op. */
static void hcall_state(struct fz_in *in, const struct call *c)
{
	random_gprs(in);
	random_segs(in, 1);
	in->eax = c->nr;
	in->ebx = c->a[0];
	in->ecx = c->a[1];
	in->edx = c->a[2];
	in->esi = c->a[3];
	in->eflags = random_eflags();
}

/*
 * Run c once with random state (or preset's segment registers); check it.
 * Returns 0 if it behaved.
 */
int do_hcall_in(const struct call *c, struct fz_in *preset)
{
	struct fz_in in;
	u32 segs[4], esp;
	char name[48];

	hcall_state(&in, c);
	if (preset)
		in.ds = preset->ds, in.es = preset->es, in.fs = preset->fs, in.gs = preset->gs;
	esp = pick_stack(&in, c->tls_slot < 0);
	segs[0] = in.gs, segs[1] = in.fs, segs[2] = in.es, segs[3] = in.ds;
	trace("op %u: %s(0x%x, 0x%x, 0x%x, 0x%x) eflags 0x%x segs %x/%x/%x/%x ss %x base 0x%x esp 0x%x",
	      fz_op, c->what, c->a[0], c->a[1], c->a[2], c->a[3], in.eflags, in.ds, in.es, in.fs,
	      in.gs, in.ss, fz_ss_base, esp);
	if (in.ss != UMBRA_KERNEL_DS)
		trace("  tls %llx %llx %llx", M.tls[0], M.tls[1], M.tls[2]);
	run_op1(&in, sn_hcall, sn_hcall_at, sn_hcall_after);
	umbra_snprintf(name, sizeof(name), "%s", c->what);
	apply_call(c, segs);
	if (c->timer_set || c->nr == UMBRA_HC_HALT)
		timer_check_early(name);
	return check_after_hcall(name, &in, segs, c->expect, c->any_result, esp);
}

int do_hcall(const struct call *c)
{
	return do_hcall_in(c, 0);
}

void op_hcall(void)
{
	struct call c;

	gen_call(&c, 0);
	do_hcall(&c);
}

/* A call for the fuzzer's own bookkeeping, outside the checks. */
long hc_plain(u32 nr, u32 a1, u32 a2, u32 a3, u32 a4)
{
	return umbra_hcall(nr, a1, a2, a3, a4);
}
