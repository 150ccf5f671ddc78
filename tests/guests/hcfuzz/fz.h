/*
 * hcfuzz: a seeded in-guest fuzzer of the umbra ABI (in the spirit of
 * Hyper-Cube). Declarations shared by its files:
 *
 *   main.c   arguments, setup, the main loop, reporting, mode=fatal
 *   cpu.c    the execution engine (asm): run a snippet in ring 1 or 3 with
 *            chosen registers, segments and EFLAGS, capture what comes back;
 *            trap stubs and the trap log; the ring-1 sandbox escape
 *   hcall.c  random hypercalls with their expected results (the ABI model),
 *            MULTICALL batches, the register and flag checks after a call
 *   mem.c    page tables: setup, random entries announced or silent,
 *            self-maps, the software walk that predicts every access
 *   ops.c    segments, gates, int n, exceptions, EFLAGS, the timer, and
 *            random byte strings run as ring-3 and ring-1 code
 */
#ifndef HCFUZZ_FZ_H
#define HCFUZZ_FZ_H

#include <umbra/kernel.h>
#include <umbra/paging.h>

typedef uint32_t u32;
typedef uint64_t u64;
typedef uint8_t u8;

/* ---- layout (guest-physical = identity-mapped virtual) ---------------- */

#if UMBRA_PAE
#define SWBASE		UMBRA_SWITCHER_BASE_PAE
#else
#define SWBASE		UMBRA_SWITCHER_BASE_2LEVEL
#endif
#define DIRSPAN		(1u << UMBRA_PT_DIR_SHIFT)
#define KBASE		0xc0000000u	/* kernel_base: leaf tables shared by every top */
#define WIN		0x40000000u	/* fuzzed window, a leaf table per top */
#define WIN2		(WIN + DIRSPAN)	/* second window slot, unlinked at first */
#define WPAGES		64		/* pages of each window that are fuzzed */
#define KPAGES		32		/* pages of the kernel window at KBASE */
#if UMBRA_PAE
#define SELFVA		0x7fe00000u	/* PD1[511] may point at PD1 itself */
#else
#define SELFVA		0x80000000u	/* PD[512] may point at the directory itself */
#endif

#define DFR		0x400000u	/* NDFR data frames that mappings point at */
#define NDFR		64
#define NCRFR		4		/* the first NCRFR hold only '\r' */
#define MCLIST		0x440000u	/* multicall list, 4096 entries */
#define KSTK		0x460000u	/* two kernel stacks of 2 pages: A, B */
#define XSTK		0x464000u	/* ring-1 execution stack, 8 pages */
#define XSTK_TOP	0x46c000u
#define USTK		0x46c000u	/* user stack, 2 pages (U) */
#define UCODE		0x46e000u	/* random ring-3 code (U) */
#define ZPAGE		0x46f000u	/* always zero: a table with nothing in it */
#define SHARED1		0x470000u	/* the second shared page */
#define IDS		0x471000u	/* 15 identity pages that may be remapped */
#define NIDS		15
#define SBX		0x480000u	/* ring-1 sandbox scratch, 16 pages */
#define SBX_CODE	0x490000u	/* ring-1 random code (read-only there) */
#define POOL		0x800000u	/* page-table pages */
#define POOL_END	0xe00000u
#define CRBUF_LEN	0x2000u		/* '\r' buffer at the top of memory */

#define NTOPS		12		/* more than the default 8 cached shadows */
#define NLT		8		/* spare leaf tables */

#define RET_VEC		0xfe		/* ring 3 comes back to the kernel here */
#define HC		UMBRA_HCALL_VECTOR

/* EFLAGS */
#define F_CF	0x1u
#define F_PF	0x4u
#define F_AF	0x10u
#define F_ZF	0x40u
#define F_SF	0x80u
#define F_TF	0x100u
#define F_IF	0x200u
#define F_DF	0x400u
#define F_OF	0x800u
#define F_IOPL	0x3000u
#define F_NT	0x4000u
#define F_RF	0x10000u
#define F_VM	0x20000u
#define F_AC	0x40000u
#define F_ID	0x200000u
#define F_ARITH	(F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)
/* What a hypercall keeps of the guest's flags (the ABI's list). */
#define F_KEPT	(F_ARITH | F_DF | F_AC | F_TF)

/* ---- the engine (cpu.c) ------------------------------------------------- */

/* What a snippet starts with; the asm reads it by offset. */
struct fz_in {
	u32 gs, fs, es, ds;
	u32 edi, esi, ebp, esp_, ebx, edx, ecx, eax;	/* pushal order */
	u32 eip, cs, eflags, esp, ss;			/* ring 1 uses eip and eflags */
};

/* What a ring-1 snippet ended with (after its op, pushfl then the tail). */
struct fz_out {
	u32 gs, fs, es, ds;
	u32 edi, esi, ebp, esp, ebx, edx, ecx, eax;
	u32 eflags;
};

/* What a trap stub saw. */
struct fz_frame {
	u32 gs, fs, es, ds;
	u32 edi, esi, ebp, esp_, ebx, edx, ecx, eax;
	u32 hflags;		/* EFLAGS inside the handler, first thing */
	u32 vector, error;
	u32 eip, cs, eflags, esp, ss;
};

struct fz_trap {
	struct fz_frame f;	/* esp/ss meaningful only from ring 3 */
	u32 frame_at;		/* address of f.eip on the handler's stack */
	u32 cr2, irq_at_entry, hcs;
};

#define MAXTRAPS	6
extern struct fz_trap fz_traps[MAXTRAPS];
extern unsigned fz_ntraps;
extern struct fz_in fz_in;
extern struct fz_out fz_out;
extern u32 fz_xesp;		/* ring-1 op: esp while the op runs */
extern u32 fz_resume;		/* where a fault in the snippet continues */
extern u32 fz_fault_at;		/* the snippet's faulting instruction */
extern int fz_escape_all;	/* every trap ends the run (random code) */
extern int fz_escaped;
extern volatile struct umbra_shared *S;	/* the registered shared page */

void fz_run1(void);		/* fz_in.eip = snippet, fz_xesp = its esp */
void fz_run3(void);		/* iret to ring 3 with fz_in; back through RET_VEC */
uint32_t fz_stub(unsigned v);

/* Snippets: NAME, NAME_at (the op), NAME_after (its pushfl). */
#define SNIP(n) extern char n[], n##_at[], n##_after[]
SNIP(sn_hcall);
SNIP(sn_ud2); SNIP(sn_div); SNIP(sn_int3); SNIP(sn_into); SNIP(sn_bound);
SNIP(sn_int1); SNIP(sn_cli); SNIP(sn_hlt); SNIP(sn_in); SNIP(sn_crd); SNIP(sn_nop);
SNIP(sn_rd_ds); SNIP(sn_rd_es); SNIP(sn_rd_fs); SNIP(sn_rd_gs);
SNIP(sn_wr_ds); SNIP(sn_wr_es); SNIP(sn_wr_fs); SNIP(sn_wr_gs);
SNIP(sn_ld_ds); SNIP(sn_ld_es); SNIP(sn_ld_fs); SNIP(sn_ld_gs);
SNIP(u3_ud2); SNIP(u3_div); SNIP(u3_int3); SNIP(u3_into); SNIP(u3_bound);
SNIP(u3_int1); SNIP(u3_cli); SNIP(u3_hlt); SNIP(u3_in); SNIP(u3_hcall); SNIP(u3_nop); SNIP(u3_crd);
SNIP(u3_rd_ds); SNIP(u3_rd_es); SNIP(u3_rd_fs); SNIP(u3_rd_gs);
SNIP(u3_wr_ds); SNIP(u3_wr_es); SNIP(u3_wr_fs); SNIP(u3_wr_gs);
SNIP(u3_ld_ds); SNIP(u3_ld_es); SNIP(u3_ld_fs); SNIP(u3_ld_gs);
extern char fz_user_begin[], fz_user_end[], fz_intn_table[], fz_intn3_table[];
#define INTN_STRIDE	16	/* each entry: popfl; int $n; pushfl; jmp tail */
#define INTN3_STRIDE	8	/* each entry: int $n; int $RET_VEC; padding */
extern u32 fz_bound_pair[2];

/* ---- the model and the run (main.c) ------------------------------------- */

struct model {
	u32 mem;
	u32 tops[NTOPS];
	u32 cur;		/* index into tops */
	u32 stale;		/* bit i: top i's cached shadow may lag its tables */
	u32 lt[NLT];		/* spare leaf tables */
	u32 winleaf[NTOPS];	/* each top's own window leaf table */
	u32 kleaf;		/* the kernel window's shared leaf table */
	u32 idleaf[16];		/* identity leaf tables (shared by every top) */
	u32 sbx_top;
	u64 gate[256];		/* as installed (selector made 0x19), 0 = none */
	u64 tls[3];
	u32 syscall_vector;
	u32 shared;		/* gpa of the registered page */
	u32 esp1, stack_pages;
	int timer_armed;	/* a SET_TIMER may still fire */
	int timer_clean;	/* and nothing was pending when it was set */
	u64 timer_ns, timer_t0;
	int pending_possible;	/* irq_pending may have bit 0 set */
	u32 irq;		/* irq_enabled for the next op */
};

extern struct model M;
extern u32 fz_op;		/* number of the current op */
extern u32 fz_seed;
extern u32 fz_skip;		/* SKIP_* bits from skip= */
extern int fz_trace;

#define SKIP_DF		(1u << 0)
#define SKIP_NT		(1u << 1)
#define SKIP_TF		(1u << 2)
#define SKIP_AC		(1u << 3)
#define SKIP_SELFW	(1u << 4)	/* writes through a self-map */
#define SKIP_SELF	(1u << 5)	/* self-maps at all */
#define SKIP_MCTLS	(1u << 6)	/* SET_TLS inside MULTICALL with the slot loaded */
#define SKIP_TIMER	(1u << 7)
#define SKIP_CODE3	(1u << 8)
#define SKIP_SSTLS	(1u << 9)	/* ring-1 faults with ss in a TLS slot */
#define SKIP_BIGMC	(1u << 10)	/* multicalls longer than 64 */
#define SKIP_INT7	(1u << 11)
#define SKIP_HUGETIMER	(1u << 12)
#define SKIP_LDT	(1u << 13)	/* LDT selectors, and page 0 (the reset LDT's first page) */

/* Report a violation of check `what` (one FAIL line per kind). */
void violation(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern const char *fz_vkey;	/* the next violation()'s kind, beside its format */
void note(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- randomness ------------------------------------------------------- */

void rng_seed(u64 seed);
u32 rnd(void);
static inline u32 rn(u32 n) { return n ? (u32)(((u64)rnd() * n) >> 32) : 0; }
static inline int chance(u32 percent) { return rn(100) < percent; }
u32 boundary32(void);		/* a boundary-biased 32-bit value */
u32 pick(const u32 *v, u32 n);
#define PICK(arr) ((arr)[rn(sizeof(arr) / sizeof((arr)[0]))])

/* ---- check.c: random state, running, checking ---------------------------- */

u32 random_eflags(void);
void random_gprs(struct fz_in *in);	/* zeroes *in first */
void random_segs(struct fz_in *in, int ring);
u64 gdt_desc(unsigned index);		/* the model of the guest's GDT */
u32 seg_base(u64 d);
u32 seg_limit(u64 d);
void run_op1(struct fz_in *in, char *snip, char *at, char *after);
void run_op3(struct fz_in *in, char *snip, char *at, char *after);
void expect_gprs(const char *name, const struct fz_in *in, const u32 *got_pushal, u32 skipmask);
int count_db(unsigned *first_other);

/* Expectations of one trap, checked against fz_traps[]. */
struct xtrap {
	unsigned vector;
	int has_err;
	u32 err;
	u32 eip;		/* 0: any */
	u32 eip2;		/* a second acceptable eip, or 0 */
	int ring;		/* the interrupted ring */
	u32 cs;			/* interrupted cs */
	u32 flags;		/* interrupted EFLAGS, IF = what the frame must show */
	u32 esp, ss;		/* ring 3 */
	u32 cr2;		/* #PF */
	u32 frame_at;		/* where f.eip must lie, 0: don't check */
	int direct;		/* the CPU's own delivery (direct system-call trap) */
	u32 virq;		/* irq_enabled when it came */
};

/* ---- hcall.c ------------------------------------------------------------ */

/* A hypercall with what the model expects of it and does after it. */
struct call {
	u32 nr, a[4];
	int32_t expect;		/* the result */
	int any_result;
	int tls_slot;		/* SET_TLS: slot, else -1 */
	u64 tls_new;
	int gate_vec;		/* SET_TRAP: vector, else -1 */
	u64 gate_new;
	int new_cur;		/* NEW_PGTABLE: index of the top, else -1 */
	u32 stale_or, stale_and;	/* stale = (stale & and) | or; and ~(1<<31): clear current */
	int shared_switch;
	u32 shared_gpa, sysvec;
	int stack_set;
	u32 esp1, pages;
	int timer_set;
	u64 timer_ns;
	const char *what;
};

void gen_call(struct call *c, int in_batch);
void apply_call(const struct call *c, u32 *segs);
int do_hcall(const struct call *c);
void op_hcall(void);
void op_multicall(void);
long hc_plain(u32 nr, u32 a1, u32 a2, u32 a3, u32 a4);

/* ---- mem.c, touch.c ------------------------------------------------------- */

void mem_setup(void);
int walk(u32 top, u32 va, u32 *pa, int *w, int *u);	/* levels present; pa if complete */
umbra_pte_t *leaf_slot(u32 top, u32 va);
umbra_pte_t *dir_slot(u32 top, u32 va);
void op_touch(void);
void ensure_fresh(void);
u32 cur_top(void);
u32 kstack_top(int which);

/* ---- ops.c -------------------------------------------------------------- */

void gates_setup(void);
void op_gate(void);
void op_tls(void);
void op_segload(void);
void op_int(void);
void op_exc(void);
void op_timer(void);
void op_code3(void);
void op_code1(void);
void timer_quiesce(void);
void timer_check_early(const char *name);
int gate_present(unsigned v);
int gate_dpl(unsigned v);
int gate_is_trap(unsigned v);
int is_essential(unsigned v);
int has_errcode(unsigned v);

/* ---- shared between the files, not part of any interface -------------- */

/* check.c */
u32 sel_check(u32 sel, int cpl);
u32 after_iret3(u32 sel);
u32 random_sel(int cpl);
int check_trap(const char *name, unsigned i, const struct xtrap *x);
void xtrap_for(struct xtrap *x, unsigned v, int ring, u32 flags, u32 eip, u32 esp, int direct);
void check_flags(const char *name, u32 loaded, u32 got, int hcall);
void expect_segs(const char *name, const u32 *want, const u32 *got);
void check_db_traps(const char *name, u32 loaded, int ring);
extern int fz_iret_vm;
extern u32 fz_db_expect_eip;
/* cpu.c */
extern u32 fz_out_ss, fz_ss_base, fz_sandbox;
extern u32 fz_sbx_rw[];
void fz_sandbox_run(u32 sbx_top, u32 main_top);
/* hcall.c, batch.c */
extern char crbuf[CRBUF_LEN];
extern int batch_shared, batch_open, list_at_top;
extern u64 hc_pre_tsc;
extern int hc_ss_slot;
void call_init(struct call *c, u32 nr);
void gen_flush(struct call *c);
void gen_new_pgtable(struct call *c);
void gen_switch(struct call *c);
void gen_set_trap_public(struct call *c);
void gen_set_tls_public(struct call *c);
int check_after_hcall(const char *name, const struct fz_in *in, const u32 *segs_want,
		      int32_t expect, int any_result, u32 esp);
int do_hcall_in(const struct call *c, struct fz_in *preset);
u32 pick_stack(struct fz_in *in, int allow_tls);
int in_batch(void);
void batch_dep_add(u32 addr);
int batch_dep_free(u32 addr);
void crbuf_init(void);
/* mem.c, ptgen.c, touch.c */
extern u32 pd_of[NTOPS][4];
umbra_pte_t *ent(u32 table, unsigned i);
umbra_pte_t gen_pte(void);
umbra_pte_t dir_flags(void);
u32 self_dir(u32 i);
int has_self(u32 i);
u32 tops_linking(u32 leaf);
u32 tops_linking_leaf(u32 leaf);
int is_fuzz_leaf(u32 pa);
umbra_pte_t gen_leaf_value(void);
extern u32 fz_range_va, fz_range_pages;	/* the last UPDATE_RANGE, for touch.c */
void call_init_pt(struct call *c, u32 nr, const char *what);
void gen_pt_call(struct call *c);
void apply_pt_call(const struct call *c);
u32 sandbox_setup(void);
void check_simple_op(const char *name, int ring, const struct fz_in *in, const struct xtrap *x,
		     u32 eax_skip);
/* ops.c, timer.c, code.c */
u64 tls_desc_random(int valid);

#endif
