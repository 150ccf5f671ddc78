/*
 * hcfuzz: a seeded in-guest fuzzer of the umbra guest ABI.
 *
 * Module line: seed=N ops=N mode=mixed|ring1|fatal|ldt, and optionally
 *   skip=a+b+...   leave things out (df nt tf ac selfw self mctls timer code3
 *                  sstls bigmc int7 hugetimer ldt), to get past a known bug
 *   trace=K        print every op from op K on (to replay a seed)
 *   iretvm=1       also set EFLAGS.VM in ring 3's iret frames (QEMU's TCG then
 *                  enters virtual-8086 mode from ring 1, which no CPU does)
 *   progress=N     a progress line every N ops (default 1000000)
 *   maxfail=N      stop after N kinds of violation (default 12)
 *   prof=1         at the end, the TSC ticks spent per kind of op
 *
 * It prints its seed first, runs `ops` random operations, checking after
 * each one what the ABI promises, and ends with PASS or one FAIL line per
 * kind of violation. mode=fatal then makes one call that must kill it and
 * says which reason it expects first ("hcfuzz: expect kill: ...").
 */
#include "fz.h"
#include <stdarg.h>

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

struct model M;
u32 fz_op, fz_seed, fz_skip;
int fz_trace;
static u32 trace_from, maxfail = 12, nfail, nkinds;
static u32 nviol;

void fatal_run(void);
void seg_probe(void);
void ldt_probe(void);
void ldt_escalate(void);

/* ---- randomness ----------------------------------------------------------- */

static u32 s4[4];

static u64 splitmix(u64 *x)
{
	u64 z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void rng_seed(u64 seed)
{
	u64 a = splitmix(&seed), b = splitmix(&seed);

	s4[0] = (u32)a, s4[1] = (u32)(a >> 32), s4[2] = (u32)b, s4[3] = (u32)(b >> 32) | 1;
}

/* xoshiro128** */
u32 rnd(void)
{
	u32 r = s4[1] * 5, t = s4[1] << 9;

	r = ((r << 7) | (r >> 25)) * 9;
	s4[2] ^= s4[0];
	s4[3] ^= s4[1];
	s4[1] ^= s4[2];
	s4[0] ^= s4[3];
	s4[2] ^= t;
	s4[3] = (s4[3] << 11) | (s4[3] >> 21);
	return r;
}

u32 pick(const u32 *v, u32 n)
{
	return v[rn(n)];
}

u32 boundary32(void)
{
	static const u32 fixed[] = {
		0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x1001, 0xffff, 0x10000,
		0x7fffffff, 0x80000000u, 0x80000001u, 0xfffffffeu, 0xffffffffu,
		UMBRA_SWITCHER_BASE_2LEVEL, UMBRA_SWITCHER_BASE_PAE, UMBRA_SWITCHER_BASE_2LEVEL - 1,
		UMBRA_SWITCHER_BASE_PAE - 1, UMBRA_SWITCHER_BASE_2LEVEL - 0x1000,
		UMBRA_SWITCHER_BASE_PAE - 0x1000, 0x82, 31, 32, 47, 48, 255, 256, 0x412, KBASE, WIN,
		0x100000,
	};
	u32 r = rn(100);

	if (r < 45)
		return PICK(fixed);
	if (r < 55) {
		static const int32_t d[] = { -4096, -1, 0, 1, 4096 };

		return M.mem + (u32)d[rn(5)];
	}
	if (r < 65)
		return rnd() & ~0xfffu;
	return rnd();
}

/* ---- reporting -------------------------------------------------------------- */

/*
 * One FAIL line per kind: a kind is the check (its format string) and
 * fz_vkey, which a check sets where one format covers different faults
 * (which flag differs, which call returned what).
 */
const char *fz_vkey;

struct kind {
	const char *fmt;
	u32 key;
	char op[16];
	u32 count;
	u32 first_op;
};

static u32 hash(const char *s)
{
	u32 h = 2166136261u;

	while (s && *s)
		h = (h ^ (u8)*s++) * 16777619u;
	return h;
}
static struct kind kinds[64];

static const char *op_word(const char *what, char *buf, size_t n)
{
	size_t i = 0;

	while (what[i] && what[i] != ' ' && what[i] != '[' && what[i] != ':' && i + 1 < n)
		buf[i] = what[i], i++;
	buf[i] = '\0';
	return buf;
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

void violation(const char *what, const char *fmt, ...)
{
	char op[16], msg[200];
	struct kind *k = 0;
	va_list ap;

	u32 key = hash(fz_vkey);

	fz_vkey = 0;
	nviol++;
	op_word(what, op, sizeof(op));
	for (u32 i = 0; i < nkinds; i++)
		if (kinds[i].fmt == fmt && kinds[i].key == key) {
			k = &kinds[i];
			break;
		}
	if (k) {
		k->count++;
		return;
	}
	if (nkinds < 64) {
		k = &kinds[nkinds++];
		k->fmt = fmt;
		k->key = key;
		for (unsigned i = 0; i < sizeof(k->op); i++)
			k->op[i] = op[i];
		k->count = 1;
		k->first_op = fz_op;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	umbra_printf("FAIL hcfuzz: op %u (seed %u): %s: %s\n", fz_op, fz_seed, what, msg);
	nfail++;
}

void note(const char *what, const char *fmt, ...)
{
	static const char *said[8];
	static unsigned nsaid;
	char msg[160];
	va_list ap;

	for (unsigned i = 0; i < nsaid; i++)
		if (said[i] == fmt)
			return;
	if (nsaid < 8)
		said[nsaid++] = fmt;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	umbra_printf("NOTE hcfuzz: op %u (seed %u): %s: %s\n", fz_op, fz_seed, what, msg);
}

void trace(const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	if (!fz_trace || fz_op < trace_from)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	umbra_printf("hcfuzz: %s\n", msg);
}

/* ---- setup ---------------------------------------------------------------- */

static u32 parse_skip(const char *s)
{
	static const char *const names[] = { "df", "nt", "tf", "ac", "selfw", "self", "mctls",
					     "timer", "code3", "sstls", "bigmc", "int7", "hugetimer",
					     "ldt" };
	u32 bits = 0;

	while (s && *s) {
		char w[16];
		unsigned n = 0;

		while (*s && *s != '+' && n + 1 < sizeof(w))
			w[n++] = *s++;
		w[n] = '\0';
		if (*s == '+')
			s++;
		for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (streq(w, names[i]))
				bits |= 1u << i;
	}
	return bits;
}

static void setup(const struct umbra_boot_info *bi, int ring1)
{
	M.mem = bi->mem_bytes;
	if (M.mem < 0x1000000) {
		umbra_printf("hcfuzz: needs mem=16M or more\n");
		umbra_shutdown(2);
	}
	umbra_shared_init(KBASE, 0);
	M.shared = (u32)(uintptr_t)&umbra_shared;
	S = &umbra_shared;
	crbuf_init();
	for (u32 i = 0; i < NCRFR; i++)
		__builtin_memset((void *)(uintptr_t)(DFR + 0x1000 * i), '\r', 0x1000);
	M.esp1 = kstack_top(0);
	M.stack_pages = 2;
	hc_plain(UMBRA_HC_SET_STACK, UMBRA_KERNEL_DS, M.esp1, 2, 0);
	gates_setup();
	mem_setup();
	if (ring1)
		M.sbx_top = sandbox_setup();
	if (hc_plain(UMBRA_HC_NEW_PGTABLE, M.tops[0], 0, 0, 0) != 0) {
		umbra_printf("hcfuzz: new_pgtable failed\n");
		umbra_shutdown(2);
	}
	M.cur = 0;
	seg_probe();
	ldt_probe();
}

/* ---- the loop ----------------------------------------------------------- */

/* prof=1: where the time goes, by kind of op (TSC ticks) */
static int prof;
static u64 prof_tsc[16], prof_n[16];
static const char *const prof_names[16] = {
	"code1", "hcall", "multicall", "pt", "touch", "tls", "gate", "segload", "int", "exc",
	"timer", "code3", "hcall2",
};

static void one_op(int ring1)
{
	unsigned r = rn(1000), kind;
	u64 t0 = prof ? umbra_rdtsc() : 0;

	fz_xesp = 0;
	M.irq = !M.timer_armed && !M.pending_possible && !(S->irq_pending) && chance(30);
	if (ring1 && r < 850) {
		kind = 0;
		op_code1();
		goto out;
	}
	if (ring1)
		r = rn(1000);
	if (r < 220)
		kind = 1, op_hcall();
	else if (r < 300)
		kind = 2, op_multicall();
	else if (r < 440) {
		struct call c;
		void gen_pt_call(struct call *c);

		kind = 3;
		gen_pt_call(&c);
		do_hcall(&c);
	} else if (r < 600)
		kind = 4, op_touch();
	else if (r < 640)
		kind = 5, op_tls();
	else if (r < 670)
		kind = 6, op_gate();
	else if (r < 720)
		kind = 7, op_segload();
	else if (r < 810)
		kind = 8, op_int();
	else if (r < 920)
		kind = 9, op_exc();
	else if (r < 930 && !(fz_skip & SKIP_TIMER))
		kind = 10, op_timer();
	else if (r < 970 && !(fz_skip & SKIP_CODE3))
		kind = 11, op_code3();
	else
		kind = 12, op_hcall();
	timer_check_early("op");
out:
	if (prof) {
		prof_tsc[kind] += umbra_rdtsc() - t0;
		prof_n[kind]++;
	}
}

int guest_main(const struct umbra_boot_info *bi)
{
	char mode[16], skip[96];
	u32 ops, progress;
	u64 t0;
	int ring1, fatal;

	if (!umbra_arg(bi, "mode", mode, sizeof(mode)))
		mode[0] = 'm', mode[1] = 'i', mode[2] = 'x', mode[3] = 'e', mode[4] = 'd', mode[5] = 0;
	fz_seed = umbra_arg_u32(bi, "seed", (u32)umbra_rdtsc());
	ops = umbra_arg_u32(bi, "ops", 100000);
	progress = umbra_arg_u32(bi, "progress", 1000000);
	prof = umbra_arg_u32(bi, "prof", 0) != 0;
	maxfail = umbra_arg_u32(bi, "maxfail", 12);
	trace_from = umbra_arg_u32(bi, "trace", 0xffffffffu);
	fz_trace = trace_from != 0xffffffffu;
	fz_skip = parse_skip(umbra_arg(bi, "skip", skip, sizeof(skip)));
	{
		extern int fz_iret_vm;

		fz_iret_vm = umbra_arg_u32(bi, "iretvm", 0) != 0;
	}
	ring1 = streq(mode, "ring1");
	fatal = streq(mode, "fatal");
	umbra_printf("hcfuzz: seed %u, %u ops, mode %s\n", fz_seed, ops, mode);
	rng_seed(fz_seed);
	setup(bi, ring1);
	t0 = umbra_rdtsc();
	for (fz_op = 0; fz_op < ops && nkinds < maxfail; fz_op++) {
		one_op(ring1);
		if (progress && fz_op && fz_op % progress == 0)
			umbra_printf("hcfuzz: %u ops, %u violations, %llu TSC ticks\n", fz_op, nviol,
				     umbra_rdtsc() - t0);
	}
	for (unsigned k = 0; prof && k < 13; k++)
		if (prof_n[k])
			umbra_printf("hcfuzz: prof %-9s %7llu ops, %9llu ticks each, %3llu%%\n", prof_names[k],
				     prof_n[k], prof_tsc[k] / prof_n[k],
				     prof_tsc[k] * 100 / (umbra_rdtsc() - t0));
	if (fatal)
		fatal_run();
	if (streq(mode, "ldt"))
		ldt_escalate();
	if (!nviol) {
		umbra_printf("PASS hcfuzz: %u ops, no violation\n", fz_op);
		return 0;
	}
	umbra_printf("hcfuzz: %u ops, %u violations of %u kinds:", fz_op, nviol, nkinds);
	for (u32 i = 0; i < nkinds; i++)
		umbra_printf(" %s x%u (first op %u)%s", kinds[i].op, kinds[i].count, kinds[i].first_op,
			     i + 1 < nkinds ? "," : "\n");
	return 1;
}
