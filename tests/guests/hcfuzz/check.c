/*
 * Random machine state for an op, and the checks of what came back: the
 * registers and EFLAGS after a snippet, and every trap frame against what
 * the CPU would have pushed.
 */
#include "fz.h"

int fz_iret_vm;		/* iretvm=1: let ring 3's iret frame carry VM too */

/* ---- random state ------------------------------------------------------- */

u32 random_eflags(void)
{
	u32 f = 0x2 | (rnd() & F_ARITH);

	if (!(fz_skip & SKIP_DF) && chance(30))
		f |= F_DF;
	if (!(fz_skip & SKIP_AC) && chance(20))
		f |= F_AC;
	if (!(fz_skip & SKIP_TF) && chance(6))
		f |= F_TF;
	if (!(fz_skip & SKIP_NT) && chance(10))
		f |= F_NT;
	if (chance(15))
		f |= (1 + rn(3)) << 12;		/* IOPL: ring 1 cannot change it */
	if (chance(50))
		f |= F_IF;			/* nor IF */
	if (chance(10))
		f |= F_ID;
	if (chance(5))
		f |= F_VM | F_RF;
	return f;
}

void random_gprs(struct fz_in *in)
{
	__builtin_memset(in, 0, sizeof(*in));
	in->eax = boundary32();
	in->ebx = boundary32();
	in->ecx = boundary32();
	in->edx = boundary32();
	in->esi = boundary32();
	in->edi = boundary32();
	in->ebp = boundary32();
	in->esp_ = 0;
}

/* The guest's GDT as the ABI describes it (access byte and limit only matter). */
u64 gdt_desc(unsigned i)
{
	static const u64 fixed[8] = {
		0,
		0x00cf9b000000ffffull,	/* hypervisor code, DPL 0 */
		0x00cf93000000ffffull,	/* hypervisor data, DPL 0 */
		0x00cfbb000000ffffull,	/* kernel code, DPL 1 (limit: below the Switcher) */
		0x00cfb3000000ffffull,	/* kernel data, DPL 1 */
		0x00cffb000000ffffull,	/* user code, DPL 3 */
		0x00cff3000000ffffull,	/* user data, DPL 3 */
		0x00008b0000000067ull,	/* TSS, busy */
	};
	if (i < 8)
		return fixed[i];
	if (i < 11)
		return M.tls[i - 8];
	return 0;
}

u32 seg_base(u64 d)
{
	return (u32)((d >> 16) & 0xffffff) | (u32)((d >> 56) << 24);
}

u32 seg_limit(u64 d)
{
	u32 l = (u32)(d & 0xffff) | (u32)((d >> 32) & 0xf0000);

	return (d >> 55) & 1 ? (l << 12) | 0xfff : l;
}

/* Loading sel into ds/es/fs/gs at cpl: 0 if it loads, else the #GP/#NP code | vector << 16. */
u32 sel_check(u32 sel, int cpl)
{
	unsigned i = sel >> 3, rpl = sel & 3;
	u64 d;
	u32 access, dpl, maxp;

	if ((sel & ~3u) == 0)
		return 0;
	if ((sel & 4) || i >= 11)
		return (13u << 16) | (sel & 0xfffc);
	d = gdt_desc(i);
	access = (u32)(d >> 40) & 0xff;
	dpl = (access >> 5) & 3;
	maxp = (u32)cpl > rpl ? (u32)cpl : rpl;
	if (!(access & 0x10) || ((access & 0x08) && !(access & 0x02)))
		return (13u << 16) | (sel & 0xfffc);
	if (!((access & 0x08) && (access & 0x04)) && maxp > dpl)
		return (13u << 16) | (sel & 0xfffc);
	if (!(access & 0x80))
		return (11u << 16) | (sel & 0xfffc);
	return 0;
}

/* What a data segment register holds in ring 3 after iret nulled it (or not). */
u32 after_iret3(u32 sel)
{
	u64 d;
	u32 access;

	if ((sel & ~3u) == 0)
		return sel;
	d = gdt_desc(sel >> 3);
	access = (u32)(d >> 40) & 0xff;
	if (((access >> 5) & 3) < 3 && !((access & 0x08) && (access & 0x04)))
		return 0;
	return sel;
}

/* A selector that loads at cpl; ring 3's may also be ones iret will null. */
u32 random_sel(int cpl)
{
	static const u32 r1[] = { 0x21, 0x21, 0x21, 0x20, 0x22 + 0, 0x33, 0x31, 0x30, 0x32,
				  0x19, 0x18, 0x2b, 0x2a, 0x28, 0, 1, 2, 3 };
	static const u32 r3[] = { 0x33, 0x33, 0x33, 0x30, 0x31, 0x32, 0x2b, 0x28, 0, 3,
				  0x21, 0x19, 0x20 };

	for (int tries = 0; tries < 4; tries++) {
		u32 s;

		if (chance(25))
			s = 0x40 + 8 * rn(3) + rn(4);
		else
			s = cpl == 1 ? PICK(r1) : PICK(r3);
		/* ring 3's list is loaded in ring 1 first, then iret nulls some */
		if (sel_check(s, 1) == 0)
			return s;
	}
	return cpl == 1 ? 0x21 : 0x33;
}

void random_segs(struct fz_in *in, int ring)
{
	in->ds = random_sel(ring);
	in->es = random_sel(ring);
	in->fs = random_sel(ring);
	in->gs = random_sel(ring);
}

/* ---- running -------------------------------------------------------------- */

static void prepare(void)
{
	fz_ntraps = 0;
	fz_escaped = 0;
	S->irq_enabled = M.irq;
}

/* A ring-1 snippet; the op runs with esp = fz_xesp (chosen here if 0). */
void run_op1(struct fz_in *in, char *snip, char *at, char *after)
{
	if (!fz_xesp)
		fz_xesp = XSTK_TOP - 0x1000 - 4 * rn(256);
	extern u32 fz_ss_base;
	extern u64 hc_pre_tsc;

	in->eip = (u32)(uintptr_t)snip;
	if (!in->ss)
		in->ss = UMBRA_KERNEL_DS;
	if (in->ss == UMBRA_KERNEL_DS)
		fz_ss_base = 0;
	hc_pre_tsc = umbra_rdtsc();
	fz_fault_at = (u32)(uintptr_t)at;
	fz_resume = (u32)(uintptr_t)after;
	fz_in = *in;
	prepare();
	fz_run1();
	S->irq_enabled = 0;
}

/* A ring-3 snippet: user code, stack USTK. */
void run_op3(struct fz_in *in, char *snip, char *at, char *after)
{
	in->eip = (u32)(uintptr_t)snip;
	if (!fz_iret_vm)
		in->eflags &= ~F_VM;	/* QEMU's iret from ring 1 would enter virtual-8086 mode */
	in->cs = UMBRA_USER_CS;
	in->ss = UMBRA_USER_DS;
	in->esp = USTK + 0x1000 + 4 * rn(256);
	fz_fault_at = (u32)(uintptr_t)at;
	fz_resume = (u32)(uintptr_t)after;
	fz_in = *in;
	prepare();
	fz_run3();
	S->irq_enabled = 0;
}

/* ---- checks --------------------------------------------------------------- */

static const char *const flag_names[] = {
	"CF", "1", "PF", "3", "AF", "5", "ZF", "SF", "TF", "IF", "DF", "OF",
	"IOPL0", "IOPL1", "NT", "15", "RF", "VM", "AC", "VIF", "VIP", "ID",
};

static void flag_diff(char *buf, size_t n, u32 want, u32 got, u32 mask)
{
	u32 d = (want ^ got) & mask;
	size_t at = 0;

	buf[0] = '\0';
	for (unsigned b = 0; b < 22 && at + 12 < n; b++)
		if (d & (1u << b))
			at += (size_t)umbra_snprintf(buf + at, n - at, " %s%s", flag_names[b],
						     (got >> b) & 1 ? "=1" : "=0");
}

#define FLAG_MASK	(F_ARITH | F_TF | F_DF | F_NT | F_AC | F_IF | F_IOPL | F_VM | 2)

/*
 * EFLAGS after an op that kept them (loaded with popfl or iret): as loaded
 * for the bits ring 1 and 3 can change, IF 1 and IOPL 0 regardless. Every
 * trip through the hypervisor clears NT: after a hypercall it must be
 * clear; after anything else it may be, as an invisible trap (a shadow
 * fault, a timer tick) may have come in between.
 */
void check_flags(const char *name, u32 loaded, u32 got, int hcall)
{
	u32 want = (loaded & (F_ARITH | F_DF | F_AC | F_TF | F_NT)) | F_IF | 2;
	char diff[128];

	if (hcall || !(got & F_NT))
		want &= ~F_NT;
	if ((want ^ got) & FLAG_MASK) {
		flag_diff(diff, sizeof(diff), want, got, FLAG_MASK);
		fz_vkey = diff;
		violation(name, "eflags 0x%x, expected 0x%x (loaded 0x%x):%s", got, want, loaded, diff);
	}
}

static const char *const gpr_names[8] = { "edi", "esi", "ebp", "esp", "ebx", "edx", "ecx", "eax" };

/* got[] in pushal order against in's; bit i of skip: don't compare that one. */
void expect_gprs(const char *name, const struct fz_in *in, const u32 *got, u32 skip)
{
	const u32 *want = &in->edi;

	for (unsigned i = 0; i < 8; i++)
		if (i != 3 && !(skip & (1u << i)) && got[i] != want[i])
			violation(name, "%s 0x%x, expected 0x%x", gpr_names[i], got[i], want[i]);
}

static const char *const seg_names[4] = { "gs", "fs", "es", "ds" };

/* Segment selectors got[] (gs fs es ds) against want[]; a null may carry any RPL. */
void expect_segs(const char *name, const u32 *want, const u32 *got)
{
	for (unsigned i = 0; i < 4; i++) {
		u32 w = want[i] & 0xffff, g = got[i] & 0xffff;

		if (w == g || ((w & ~3u) == 0 && (g & ~3u) == 0))
			continue;
		violation(name, "%s 0x%x, expected 0x%x", seg_names[i], g, w);
	}
}

/* #DB traps among the recorded ones; the index of the first other trap. */
int count_db(unsigned *first_other)
{
	int n = 0;

	*first_other = MAXTRAPS;
	for (unsigned i = 0; i < fz_ntraps && i < MAXTRAPS; i++) {
		if (fz_traps[i].f.vector == 1)
			n++;
		else if (*first_other == MAXTRAPS)
			*first_other = i;
	}
	return n;
}

/* A frame that cannot be one: the hypervisor pushed it somewhere else. */
static int garbage(const char *name, const struct fz_trap *t)
{
	extern u32 fz_ss_base;
	u32 c = t->f.cs & 0xfff8;

	if (c == 0x18 || c == 0x28 || (c >= 0x40 && c <= 0x50))
		return 0;
	violation(name, "vector %u: no frame where the handler's esp points (frame at 0x%x: eip 0x%x "
		  "cs 0x%x eflags 0x%x; the op ran with ss 0x%x, base 0x%x)", t->f.vector, t->frame_at,
		  t->f.eip, t->f.cs, t->f.eflags, fz_in.ss, fz_ss_base);
	return 1;
}

u32 fz_db_expect_eip;	/* a #DB the op itself raises (int $1, icebp), not a single step */

/* Every #DB must be a single-step trap of flags that had TF. */
void check_db_traps(const char *name, u32 loaded, int ring)
{
	for (unsigned i = 0; i < fz_ntraps && i < MAXTRAPS; i++) {
		const struct fz_trap *t = &fz_traps[i];

		if (t->f.vector != 1 || garbage(name, t))
			continue;
		if (fz_db_expect_eip && t->f.eip == fz_db_expect_eip) {
			fz_db_expect_eip = 0;	/* that one is checked as the op's trap */
			continue;
		}
		if (!(loaded & F_TF)) {
			violation(name, "#DB at eip 0x%x without TF (frame eflags 0x%x)", t->f.eip,
				  t->f.eflags);
			continue;
		}
		if (!(t->f.eflags & F_TF))
			violation(name, "#DB frame eflags 0x%x lacks TF", t->f.eflags);
		if ((t->f.cs & 3) != (u32)ring)
			violation(name, "#DB frame cs 0x%x, expected ring %d", t->f.cs, ring);
		if (t->f.hflags & (F_TF | F_NT | F_VM))
			violation(name, "#DB handler runs with eflags 0x%x", t->f.hflags);
	}
}

/*
 * The frame and handler state of trap i against x. The frame must be
 * exactly what the CPU would push (error code only where it pushes one),
 * the handler must run with the interrupted EFLAGS minus TF, NT, RF, VM,
 * its virtual IF cleared by an interrupt gate, in cs 0x19.
 */
int check_trap(const char *name, unsigned i, const struct xtrap *x)
{
	const struct fz_trap *t = &fz_traps[i];
	const struct fz_frame *f = &t->f;
	u32 hwant = (x->flags & (F_ARITH | F_DF | F_AC)) | F_IF | 2;
	u32 irq_want = x->direct || gate_is_trap(x->vector) ? x->virq : 0;
	char diff[128];
	int bad = 0;

#define BAD(...) do { violation(name, __VA_ARGS__); bad = 1; } while (0)
	if (i >= fz_ntraps) {
		BAD("no trap %u, expected vector %u at eip 0x%x", i, x->vector, x->eip);
		return 1;
	}
	if (garbage(name, t))
		return 1;
	if (f->vector != x->vector) {
		BAD("vector %u (error 0x%x) at eip 0x%x, expected vector %u at eip 0x%x",
		    f->vector, f->error, f->eip, x->vector, x->eip);
		return 1;
	}
	if ((x->has_err ? x->err : 0) != f->error)
		BAD("vector %u: error code 0x%x, expected 0x%x", f->vector, f->error,
		    x->has_err ? x->err : 0);
	if (x->eip && f->eip != x->eip && f->eip != x->eip2)
		BAD("vector %u: frame eip 0x%x, expected 0x%x", f->vector, f->eip, x->eip);
	if (f->cs != x->cs)
		BAD("vector %u: frame cs 0x%x, expected 0x%x", f->vector, f->cs, x->cs);
	/* An invisible trap (a shadow fault) before this one may have cleared NT. */
	if ((f->eflags ^ (x->flags & (f->eflags & F_NT ? ~0u : ~F_NT))) & FLAG_MASK) {
		flag_diff(diff, sizeof(diff), x->flags, f->eflags, FLAG_MASK);
		fz_vkey = diff;
		BAD("vector %u: frame eflags 0x%x, expected 0x%x:%s", f->vector, f->eflags, x->flags, diff);
	}
	if (x->ring == 3 && (f->esp != x->esp || (f->ss & 0xffff) != x->ss))
		BAD("vector %u: frame esp/ss 0x%x/0x%x, expected 0x%x/0x%x", f->vector, f->esp,
		    f->ss, x->esp, x->ss);
	if (x->frame_at && t->frame_at != x->frame_at)
		BAD("vector %u: frame at 0x%x, expected 0x%x", f->vector, t->frame_at, x->frame_at);
	if ((f->hflags ^ hwant) & FLAG_MASK) {
		flag_diff(diff, sizeof(diff), hwant, f->hflags, FLAG_MASK);
		fz_vkey = diff;
		BAD("vector %u: handler runs with eflags 0x%x, expected 0x%x:%s", f->vector,
		    f->hflags, hwant, diff);
	}
	if (t->irq_at_entry != irq_want)
		BAD("vector %u: irq_enabled %u in the handler, expected %u (%s gate)", f->vector,
		    t->irq_at_entry, irq_want, gate_is_trap(x->vector) ? "trap" : "interrupt");
	if (t->hcs != UMBRA_KERNEL_CS)
		BAD("vector %u: handler cs 0x%x", f->vector, t->hcs);
	if (x->vector == 14 && t->cr2 != x->cr2)
		BAD("page fault: cr2 0x%x, expected 0x%x", t->cr2, x->cr2);
#undef BAD
	return bad;
}

/*
 * What a trap through vector v's gate looks like, interrupting code that
 * ran in `ring` with the op's registers in and EFLAGS `flags` (TF as it
 * was when the trap came). esp is the interrupted esp (ring 1: linear).
 */
void xtrap_for(struct xtrap *x, unsigned v, int ring, u32 flags, u32 eip, u32 esp, int direct)
{
	__builtin_memset(x, 0, sizeof(*x));
	x->vector = v;
	x->has_err = has_errcode(v);
	x->eip = eip;
	x->ring = ring;
	x->cs = ring == 3 ? UMBRA_USER_CS : UMBRA_KERNEL_CS;
	x->direct = direct;
	x->virq = M.irq;
	x->flags = (flags & (F_ARITH | F_DF | F_AC | F_TF | F_NT)) | 2 |
		   (direct || M.irq ? F_IF : 0);
	if (ring == 3) {
		x->esp = esp;
		x->ss = UMBRA_USER_DS;
		x->frame_at = M.esp1 - 20;
	} else {
		x->frame_at = esp - 12;
	}
}
