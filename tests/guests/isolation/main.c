/*
 * Isolation: what a guest may and may not do to the CPU state it runs
 * with, one class of attack per what= on the module line.
 *
 * The first group (what=flags) must be survived, with one PASS line per
 * promise the ABI makes: the guest's direction flag never becomes the
 * hypervisor's (a console write and a reflected exception taken with DF
 * set come out right, and shadow tables zeroed meanwhile zero the right
 * page); whatever EFLAGS a guest sets, it comes back from the hypervisor
 * with IF set, IOPL 0 and NT clear; port I/O, cli and hlt stay refused in
 * ring 1; a batched SET_TLS nulls fs exactly as a single one does.
 *
 * Every other what= is an attempt that must end this guest with a reason
 * naming the bad value, while a canary beside it finishes (tests/cases.py
 * has the reasons). A guest still running afterwards prints FAIL.
 */
#include <umbra/kernel.h>
#include <umbra/paging.h>

#define EFLAGS_IF	0x200u
#define EFLAGS_DF	0x400u
#define EFLAGS_IOPL	0x3000u
#define EFLAGS_NT	0x4000u
#define EFLAGS_AC	0x40000u

#define TLS_SEL(slot, rpl)	(((UMBRA_TLS_ENTRY0 + (slot)) << 3) | (rpl))

/* Flat segments, DPL 1, ending below the Switcher (limit in pages). */
#define LIMIT_PAGES	((UMBRA_PAE ? UMBRA_SWITCHER_BASE_PAE : UMBRA_SWITCHER_BASE_2LEVEL) / 4096 - 1)
#define SEG(access, flags)	((LIMIT_PAGES & 0xffffull) | ((uint64_t)(access) << 40) | \
				 ((uint64_t)((LIMIT_PAGES >> 16) & 0xf) << 48) | ((uint64_t)(flags) << 52))
#define DATA32_DPL1	SEG(0x93 | (1 << 5), 0xc)	/* present, writable, accessed; 32-bit, 4 KiB units */
#define CODE32_DPL1	SEG(0x9b | (1 << 5), 0xc)
#define DATA16_DPL1	SEG(0x93 | (1 << 5), 0x8)	/* as DATA32 but 16-bit */

static uint32_t pushf(void)
{
	uint32_t f;

	__asm__ volatile("pushf; pop %0" : "=r"(f));
	return f;
}

static int is(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* ---- traps: resume after the instruction that raised one ---------------- */

static volatile uint32_t trap_vector, trap_eip, trap_cs, trap_eflags, resume_at;

void umbra_trap_handler(struct umbra_frame *f)
{
	trap_vector = f->vector;
	trap_eip = f->eip;
	trap_cs = f->cs;
	trap_eflags = f->eflags;
	if (!resume_at) {
		umbra_printf("isolation: unexpected trap %u at 0x%x\n", f->vector, f->eip);
		umbra_shutdown(3);
	}
	f->eip = resume_at;
	resume_at = 0;
}

/* Run `insn` (one instruction, labelled) expecting a trap; the vector taken. */
#define EXPECT_TRAP(label, insn)						\
	({ extern char label[], label##_end[];					\
	   (void)label;								\
	   trap_vector = 0xffff;						\
	   resume_at = (uint32_t)label##_end;					\
	   __asm__ volatile(#label ":\n\t" insn "\n" #label "_end:\n" ::: "memory"); \
	   trap_vector; })

/* ---- the direction flag ------------------------------------------------- */

static const char line128[] =
	"df-console: 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	"-the-whole-line-must-arrive-in-order-with-DF-set-by-the-guest.\n";

static void df_console(void)
{
	uint32_t after, len = sizeof(line128) - 1;
	long r;

	__asm__ volatile("std\n\t"
			 "int %[v]\n\t"
			 "pushf\n\t"
			 "pop %[f]\n\t"
			 "cld"
			 : "=a"(r), [f] "=r"(after)
			 : [v] "i"(UMBRA_HCALL_VECTOR), "a"(UMBRA_HC_CONSOLE_WRITE),
			   "b"((uint32_t)(uintptr_t)line128), "c"(len), "d"(0), "S"(0)
			 : "memory");
	umbra_check(r == (long)len && (after & EFLAGS_DF),
		    "df: console write with DF set returns its length and keeps the guest's DF");
}

static void df_reflect(void)
{
	extern char df_ud[];
	unsigned v;
	uint32_t after;

	v = EXPECT_TRAP(df_ud, "std; ud2");
	after = pushf();
	__asm__ volatile("cld");
	umbra_check(v == 6 && trap_eip == (uint32_t)df_ud + 1 && trap_cs == UMBRA_KERNEL_CS &&
		    (trap_eflags & EFLAGS_DF) && (after & EFLAGS_DF),
		    "df: exception taken with DF set has the frame the CPU would push");
}

/*
 * Shadow tables are zeroed while DF is set: the pattern in guest memory
 * must stay (a backwards rep stos would clear the 4 KiB below each table).
 */
#define PATTERN_START	0x00c00000u
#define PATTERN_END	0x00f00000u

static bool pattern(bool check)
{
	for (uint32_t *p = (uint32_t *)PATTERN_START; p < (uint32_t *)PATTERN_END; p++) {
		uint32_t want = (uint32_t)(uintptr_t)p * 2654435761u;

		if (!check)
			*p = want;
		else if (*p != want)
			return false;
	}
	return true;
}

#define POOL		0x00800000u
#define POOL_END	0x00c00000u

static void df_zeroing(uint32_t mem)
{
	uint32_t tops[12];
	long r = 0;

	umbra_pt_pool(POOL, POOL_END);
	for (unsigned i = 0; i < 12; i++) {
		tops[i] = umbra_pt_new_top();
		umbra_batch_begin();
		for (uint32_t va = UMBRA_PAGE; va < mem; va += UMBRA_PAGE)
			umbra_map(tops[i], va, va, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A | UMBRA_PTE_D);
		umbra_batch_end();
	}
	pattern(false);
	for (unsigned round = 0; round < 3; round++)
		for (unsigned i = 0; i < 12; i++) {
			__asm__ volatile("std\n\tint %[v]\n\tcld"
					 : "=a"(r)
					 : [v] "i"(UMBRA_HCALL_VECTOR), "a"(UMBRA_HC_NEW_PGTABLE),
					   "b"(tops[i]), "c"(0), "d"(0), "S"(0)
					 : "memory");
			if (r)
				break;
		}
	umbra_check(r == 0, "df: new_pgtable with DF set succeeds");
	umbra_check(pattern(true), "df: shadow tables made with DF set leave guest memory as it was");
}

/* ---- EFLAGS a guest cannot keep ----------------------------------------- */

static void eflags_out(void)
{
	uint32_t want = EFLAGS_NT | EFLAGS_AC | EFLAGS_IOPL, after;

	__asm__ volatile("pushf\n\t"
			 "orl %[set], (%%esp)\n\t"
			 "popf\n\t"
			 "int %[v]\n\t"
			 "pushf\n\t"
			 "pop %[f]"
			 : [f] "=r"(after)
			 : [set] "r"(want), [v] "i"(UMBRA_HCALL_VECTOR), "a"(UMBRA_HC_YIELD),
			   "b"(0), "c"(0), "d"(0), "S"(0)
			 : "memory", "cc");
	__asm__ volatile("pushf; andl $~0x44000, (%%esp); popf" ::: "cc");
	umbra_check((after & EFLAGS_IF) && !(after & EFLAGS_IOPL) && !(after & EFLAGS_NT),
		    "eflags: after a hypercall IF is set, IOPL is 0 and NT is clear");
	umbra_check(after & EFLAGS_AC, "eflags: the guest's AC survives a hypercall");
}

static void io_refused(void)
{
	umbra_check(EXPECT_TRAP(io_in, "inb $0x61, %%al") == 13, "ring 1: in from a port is refused");
	umbra_check(EXPECT_TRAP(io_out, "outb %%al, $0xf4") == 13, "ring 1: out to a port is refused");
	umbra_check(EXPECT_TRAP(io_cli, "cli") == 13, "ring 1: cli is refused");
	umbra_check(EXPECT_TRAP(io_hlt, "hlt") == 13, "ring 1: hlt is refused");
	umbra_check(!(pushf() & EFLAGS_IOPL), "ring 1 runs with IOPL 0");
}

/*
 * No LDT: a CPU fresh from reset has one at linear 0, 64 KiB long, which in
 * a guest's address space is guest memory. Write a call gate to the
 * hypervisor's ring-0 code segment there, and a flat data segment that
 * reaches the Switcher, then name them: both must fault.
 */
#define LDT_INDEX	1024			/* linear 0x2000: guest page 2 */
#define LDT_SEL		((LDT_INDEX << 3) | 4 | 1)
#define HV_CODE_SEL	0x08

volatile int reached_ring0;

/* Where the call gate would land, in ring 0: note it and return to ring 1. */
__asm__(".text\n.globl escaped\nescaped:\n\tmovl $1, reached_ring0\n\tlret\n");
extern char escaped[];

static void no_ldt(void)
{
	uint64_t *ldt = (uint64_t *)(uintptr_t)(LDT_INDEX * 8);
	uint32_t target = (uint32_t)(uintptr_t)escaped;
	uint64_t gate = (target & 0xffffull) | ((uint64_t)HV_CODE_SEL << 16) |
			((uint64_t)(0x8c | (3 << 5)) << 40) | ((uint64_t)(target >> 16) << 48);

	ldt[0] = gate;					/* 32-bit call gate, DPL 3 */
	ldt[1] = 0x00cfb3000000ffffull;			/* flat 4 GiB data, DPL 1 */
	umbra_check(EXPECT_TRAP(ldt_call, "lcall $0x2005, $0") == 13 && !reached_ring0,
		    "ldt: a call gate placed where the reset LDT would be cannot be used");
	umbra_check(EXPECT_TRAP(ldt_data, "mov $0x200d, %%eax; mov %%eax, %%fs") == 13,
		    "ldt: a data segment placed there cannot be loaded");
	__asm__ volatile("mov %0, %%fs" :: "r"(UMBRA_KERNEL_DS));
}

/* ---- TLS through a batch ------------------------------------------------ */

static uint32_t read_fs(void)
{
	uint32_t v;

	__asm__ volatile("mov %%fs, %0" : "=r"(v));
	return v;
}

static void load_fs(uint32_t sel)
{
	__asm__ volatile("mov %0, %%fs" :: "r"(sel));
}

static struct umbra_multicall mc[64];

static void tls_batched_fs(void)
{
	mc[0] = (struct umbra_multicall){ UMBRA_HC_SET_TLS, { 0, 0, 0, 0 }, 1 };
	umbra_set_tls(0, DATA32_DPL1);
	load_fs(TLS_SEL(0, 1));
	umbra_set_tls(0, 0);
	umbra_check(read_fs() == 0, "tls: a single set_tls nulls fs naming the emptied slot");
	umbra_set_tls(0, DATA32_DPL1);
	load_fs(TLS_SEL(0, 1));
	umbra_multicall(mc, 1);
	umbra_check(read_fs() == 0 && mc[0].result == 0,
		    "tls: a batched set_tls nulls fs naming the emptied slot");
	load_fs(UMBRA_KERNEL_DS);
}

/* ---- attempts that must kill -------------------------------------------- */

static void tls_batched_ss(void)
{
	mc[0] = (struct umbra_multicall){ UMBRA_HC_SET_TLS, { 0, 0, 0, 0 }, 1 };
	umbra_set_tls(0, DATA32_DPL1);
	__asm__ volatile("mov %0, %%ss" :: "r"(TLS_SEL(0, 1)));
	umbra_multicall(mc, 1);
}

static void tls_batched_cs(void)
{
	mc[0] = (struct umbra_multicall){ UMBRA_HC_SET_TLS, { 1, 0, 0, 0 }, 1 };
	umbra_set_tls(1, CODE32_DPL1);
	__asm__ volatile("ljmp %0, $1f\n1:" :: "i"(TLS_SEL(1, 1)));
	umbra_multicall(mc, 1);
}

static void multicall_index(void)
{
	for (unsigned i = 0; i < 40; i++)
		mc[i] = (struct umbra_multicall){ UMBRA_HC_IRQ_ENABLE, { 0, 0, 0, 0 }, 1 };
	mc[40] = (struct umbra_multicall){ UMBRA_HC_SET_TRAP, { 300, 0, 0, 0 }, 1 };
	umbra_multicall(mc, 41);
}

static void gate_at(uint32_t vector, uint32_t handler, unsigned type, unsigned dpl)
{
	umbra_set_gate(vector, umbra_gate(handler, type, dpl));
}

int guest_main(const struct umbra_boot_info *bi)
{
	static char stack[8192] __attribute__((aligned(4096)));
	char what[32];

	if (!umbra_arg(bi, "what", what, sizeof(what)))
		what[0] = '\0';
	umbra_shared_init(0, 0x80);
	for (unsigned v = 0; v < 20; v++)
		if (v != 2 && v != 8 && v != 18)
			umbra_set_trap(v, (void (*)(void))umbra_trap_stub(v), UMBRA_GATE_INTR, 1);
	if (is(what, "flags")) {
		umbra_set_stack((uint32_t)stack + sizeof(stack), 2);
		df_console();
		df_reflect();
		eflags_out();
		io_refused();
		no_ldt();
		tls_batched_fs();
		df_zeroing(bi->mem_bytes);
		return 0;
	}
	if (is(what, "tls_batched_ss"))
		tls_batched_ss();
	else if (is(what, "tls_batched_cs"))
		tls_batched_cs();
	else if (is(what, "tls_16bit"))
		umbra_set_tls(2, DATA16_DPL1);
	else if (is(what, "multicall_index"))
		multicall_index();
	else if (is(what, "gate_switcher"))
		gate_at(6, UMBRA_PAE ? UMBRA_SWITCHER_BASE_PAE : UMBRA_SWITCHER_BASE_2LEVEL,
			UMBRA_GATE_INTR, 1);
	else if (is(what, "gate_top"))
		gate_at(13, 0xfffffff0u, UMBRA_GATE_TRAP, 1);
	else if (is(what, "syscall_gate"))
		gate_at(0x80, 0xffffff00u, UMBRA_GATE_TRAP, 3);
	else if (is(what, "stack_beyond"))
		umbra_set_stack(bi->mem_bytes + 0x10000, 1);
	else if (is(what, "entry_fault")) {
		/* failsafe_test= on the module line makes the hypervisor break an entry. */
		for (unsigned i = 0; i < 1000; i++)
			umbra_yield();
	} else {
		umbra_printf("isolation: unknown what=%s\n", what);
		return 2;
	}
	umbra_fail(what, "the guest is still running");
	return 1;
}
