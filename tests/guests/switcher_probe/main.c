/*
 * switcher_probe: try to reach the Switcher's pages and expect to be stopped.
 *
 * The Switcher is mapped in every guest address space, supervisor-only, and
 * ring 1 is a supervisor ring for paging: from the guest kernel only the
 * segment limits, which end below SWITCHER_BASE, keep it out. Each probe
 * below is one instruction (labelled NAME_at) that reads, writes or jumps
 * beyond a limit, run from ring 1 and where it means something also from
 * ring 3 (where paging stops it too). A probe is stopped if an exception
 * reaches this guest's handler at that instruction; or, for a jump, as a
 * page fault on fetching its target (ring 3). Anything else, the access
 * completing or the code running on into the Switcher until something else
 * faults, is not stopped.
 *
 * limits=1 (the default): every probe must be stopped; one that is not
 * prints FAIL and counts in the exit code. limits=0 is for CPUs that do not
 * check segment limits (QEMU's TCG): such a probe prints NOTE, and if ring 1
 * could read the read-only page, its first 16 words are shown.
 */
#include <umbra/kernel.h>

#if UMBRA_PAE
#define SWITCHER_BASE	UMBRA_SWITCHER_BASE_PAE
#else
#define SWITCHER_BASE	UMBRA_SWITCHER_BASE_2LEVEL
#endif
#define SW_CODE		SWITCHER_BASE
#define SW_REGS_PAGE	(SWITCHER_BASE + 0x1000)
#define SW_RO_PAGE	(SWITCHER_BASE + 0x2000)
#define SW_REGS		(SW_REGS_PAGE + 0x1000 - 76)	/* the saved registers */
#define TOP		0xfffffff0u

#define BACK_VECTOR	0x80		/* int from ring 3: the probe ran to its end */

/* TLS slots: selectors with RPL 3, so that both rings can load them. */
#define SEL_HIGH	0x43		/* slot 0: base 4 MiB, limit just below the Switcher */
#define SEL_SMALL	0x4b		/* slot 1: base 1 MiB, limit 0xfff */
#define HIGH_BASE	0x400000u
#define SMALL_BASE	0x100000u
#define SMALL_LIMIT	0xfffu

/* Segment descriptor access byte and flags (Intel SDM vol. 3, 3.4.5). */
#define SEG_RW		0x02
#define SEG_S		0x10
#define SEG_DPL(n)	((n) << 5)
#define SEG_P		0x80
#define FLAG_DB		0x4
#define FLAG_G		0x8

uint32_t probe_target;
struct { uint32_t offset; uint16_t selector; } __attribute__((packed)) probe_far;
void (*user_fn)(void);
uint32_t dump[16];

#define PROBE(name, setup, insn, after)					\
	__asm__(".text\n.globl " #name "\n" #name ":\n\t" setup "\n"	\
		".globl " #name "_at\n" #name "_at:\n\t" insn "\n\t"	\
		after "\n\tret\n");					\
	extern char name[], name##_at[]

PROBE(p_read, "mov probe_target, %ecx", "mov (%ecx), %eax", "");
/* A write that leaves the word as it was, in case it is not stopped. */
PROBE(p_write, "mov probe_target, %ecx", "addl $0, (%ecx)", "");
PROBE(p_jmp, "mov probe_target, %ecx", "jmp *%ecx", "");
PROBE(p_lcall, "", "lcall *probe_far", "");
PROBE(p_fs_high, "mov $0x43, %eax; mov %eax, %fs; mov probe_target, %ecx",
      "mov %fs:(%ecx), %eax", "");
PROBE(p_fs_small, "mov $0x4b, %eax; mov %eax, %fs; mov probe_target, %ecx",
      "mov %fs:(%ecx), %eax", "");
PROBE(p_push, "mov %esp, %edx; mov probe_target, %esp", "push %eax", "mov %edx, %esp");
PROBE(p_dump, "push %esi; push %edi; mov probe_target, %esi; lea dump, %edi; mov $16, %ecx",
      "rep movsl", "pop %edi; pop %esi");

/*
 * Ring 1: probe_ring1(fn) calls fn and returns 0, or 1 if a trap came; the
 * handler resumes at probe_resume, which takes back the stack as it was
 * (code that ran on into the Switcher may have pushed).
 */
__asm__(".text\n"
	".globl probe_ring1\n"
	"probe_ring1:\n"
	"	pushl %ebp\n"
	"	pushl %ebx\n"
	"	pushl %esi\n"
	"	pushl %edi\n"
	"	movl %esp, probe_esp\n"
	"	movl $0, probe_trapped\n"
	"	call *20(%esp)\n"
	".globl probe_resume\n"
	"probe_resume:\n"
	"	movl probe_esp, %esp\n"
	"	movl $0x21, %eax\n"		/* UMBRA_KERNEL_DS */
	"	movl %eax, %fs\n"
	"	popl %edi\n"
	"	popl %esi\n"
	"	popl %ebx\n"
	"	popl %ebp\n"
	"	movl probe_trapped, %eax\n"
	"	ret\n"
	/* Ring 3: run user_fn, then come back through BACK_VECTOR. */
	".globl user_entry\n"
	"user_entry:\n"
	"	call *user_fn\n"
	"	int $0x80\n");
uint32_t probe_ring1(void (*fn)(void));
void user_entry(void);
extern char probe_resume[];
uint32_t probe_esp __attribute__((used)), probe_trapped;

static struct umbra_frame seen;
static uint32_t seen_cr2;
static int in_user;

void umbra_trap_handler(struct umbra_frame *f)
{
	if (in_user && f->vector == BACK_VECTOR)
		umbra_user_return(0);
	seen = *f;
	seen_cr2 = umbra_shared.cr2;
	probe_trapped = 1;
	if (in_user)
		umbra_user_return(1);
	f->eip = (uint32_t)probe_resume;
}

enum { R1 = 1, R3 = 2 };

struct probe {
	const char *what;
	void (*fn)(void);
	const char *at;
	uint32_t target;	/* address, or offset in the probe's segment */
	unsigned rings;
	bool jump;		/* a page fault fetching the target also stops it */
};

static const struct probe probes[] = {
	{ "read code page", (void (*)(void))p_read, p_read_at, SW_CODE, R1 | R3, false },
	{ "read register page", (void (*)(void))p_read, p_read_at, SW_REGS_PAGE, R1 | R3, false },
	{ "read read-only page", (void (*)(void))p_read, p_read_at, SW_RO_PAGE, R1 | R3, false },
	{ "read near the top", (void (*)(void))p_read, p_read_at, TOP, R1 | R3, false },
	{ "write register page", (void (*)(void))p_write, p_write_at, SW_REGS, R1 | R3, false },
	{ "jump into code", (void (*)(void))p_jmp, p_jmp_at, SW_CODE, R1 | R3, true },
	{ "far call into code", (void (*)(void))p_lcall, p_lcall_at, SW_CODE, R1 | R3, true },
	/* fs: base 4 MiB, so this offset is SWITCHER_BASE, beyond its limit. */
	{ "fs read at SWITCHER_BASE", (void (*)(void))p_fs_high, p_fs_high_at,
	  SWITCHER_BASE - HIGH_BASE, R1 | R3, false },
	/* Base plus offset wraps past 4 GiB to 4 MiB - 16, ordinary memory. */
	{ "fs read wrapping past 4 GiB", (void (*)(void))p_fs_high, p_fs_high_at, TOP,
	  R1 | R3, false },
	/* Two of the four bytes lie beyond a limit of 0xfff, in ordinary memory. */
	{ "read straddling a limit", (void (*)(void))p_fs_small, p_fs_small_at, SMALL_LIMIT - 1,
	  R1 | R3, false },
	/* Ring 3 only: from ring 1 the guest would be killed, having no stack for the frame. */
	{ "push onto register page", (void (*)(void))p_push, p_push_at, SW_REGS_PAGE + 0x800,
	  R3, false },
};

static char user_stack[4096] __attribute__((aligned(16)));
static char kernel_stack[8192] __attribute__((aligned(4096)));
static bool strict;
static unsigned stopped, not_stopped, failures;

static uint64_t seg(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (limit & 0xffffull) | ((uint64_t)(base & 0xffffff) << 16) |
	       ((uint64_t)access << 40) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
	       ((uint64_t)(flags & 0xf) << 52) | ((uint64_t)(base >> 24) << 56);
}

/* Run one probe in one ring; true if it was stopped. */
static bool run_probe(const struct probe *p, int ring)
{
	char name[80];
	uint32_t trapped;
	bool ok;

	probe_target = p->target;
	probe_far.offset = p->target;
	probe_far.selector = ring == 3 ? UMBRA_USER_CS : UMBRA_KERNEL_CS;
	__builtin_memset(&seen, 0xff, sizeof(seen));
	if (ring == 3) {
		user_fn = p->fn;
		in_user = 1;
		trapped = umbra_run_user(user_entry, (uint32_t)user_stack + sizeof(user_stack));
		in_user = 0;
		__asm__ volatile("mov %0, %%fs" :: "r"((uint32_t)UMBRA_KERNEL_DS));
	} else {
		trapped = probe_ring1(p->fn);
	}
	umbra_snprintf(name, sizeof(name), "%s 0x%x from ring %d", p->what, p->target, ring);
	ok = trapped && (seen.eip == (uint32_t)p->at ||
			 (p->jump && seen.vector == 14 && seen.eip == p->target &&
			  seen_cr2 == p->target));
	if (ok) {
		stopped++;
		umbra_printf("PASS %s stopped (vector %u)\n", name, seen.vector);
		return true;
	}
	not_stopped++;
	if (strict) {
		failures++;
		if (trapped)
			umbra_fail(name, "not stopped (ran on to vector %u at eip 0x%x, cr2 0x%x)",
				   seen.vector, seen.eip, seen_cr2);
		else
			umbra_fail(name, "not stopped");
	} else if (trapped) {
		umbra_printf("NOTE %s: not stopped; this CPU does not enforce segment limits "
			     "(ran on to vector %u at eip 0x%x, cr2 0x%x)\n",
			     name, seen.vector, seen.eip, seen_cr2);
	} else {
		umbra_printf("NOTE %s: not stopped; this CPU does not enforce segment limits\n", name);
	}
	return false;
}

/*
 * What ring 1 could read of the read-only page. By the hypervisor's layout
 * (arch/x86/switcher_layout.h) it starts with its CR3 and stack pointer and
 * the GDT and IDT registers it returns to: pointers into the hypervisor,
 * which lives in low memory, mapped one to one.
 */
static void show_ro_page(void)
{
	static const struct { unsigned word; const char *what; } ptrs[] = {
		{ 0, "host cr3" }, { 1, "host esp" }, { 3, "host GDT base" }, { 5, "host IDT base" },
	};
	char line[160];
	unsigned low = 0;
	int n = 0;

	probe_target = SW_RO_PAGE;
	if (probe_ring1((void (*)(void))p_dump)) {
		umbra_printf("NOTE read-only page: copying it trapped (vector %u)\n", seen.vector);
		return;
	}
	for (unsigned i = 0; i < 16; i++)
		n += umbra_snprintf(line + n, sizeof(line) - n, " %x", dump[i]);
	umbra_printf("NOTE read-only page 0x%x, first 16 words:%s\n", SW_RO_PAGE, line);
	n = 0;
	for (unsigned i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) {
		uint32_t w = dump[ptrs[i].word];

		if (w >= 0x100000 && w < 0x1000000)
			low++;
		n += umbra_snprintf(line + n, sizeof(line) - n, "%s %s 0x%x", i ? "," : "",
				    ptrs[i].what, w);
	}
	umbra_printf("NOTE read-only page: %u of 4 words look like hypervisor pointers:%s\n",
		     low, line);
}

int guest_main(const struct umbra_boot_info *bi)
{
	const uint32_t high_limit = (SWITCHER_BASE - HIGH_BASE) / 4096 - 1;	/* in pages */
	bool ro_read = false;

	strict = umbra_arg_u32(bi, "limits", 1) != 0;
	umbra_check(umbra_shared_init(0, 0) == 0, "register shared page");
	umbra_check(umbra_set_stack((uint32_t)kernel_stack + sizeof(kernel_stack), 2) == 0,
		    "set kernel stack");
	for (unsigned v = 0; v < 20; v++)
		if (v != 2 && v != 8 && v != 18)
			umbra_set_trap(v, (void (*)(void))umbra_trap_stub(v), UMBRA_GATE_INTR, 1);
	umbra_set_trap(BACK_VECTOR, (void (*)(void))umbra_trap_stub(BACK_VECTOR), UMBRA_GATE_INTR, 3);
	umbra_check(umbra_set_tls(0, seg(HIGH_BASE, high_limit, SEG_P | SEG_DPL(3) | SEG_S | SEG_RW,
					 FLAG_DB | FLAG_G)) == 0, "set fs segment below the Switcher");
	umbra_check(umbra_set_tls(1, seg(SMALL_BASE, SMALL_LIMIT, SEG_P | SEG_DPL(3) | SEG_S | SEG_RW,
					 FLAG_DB)) == 0, "set small fs segment");
	umbra_printf("probing the Switcher at 0x%x, limits=%d\n", SWITCHER_BASE, strict);
	for (unsigned i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		const struct probe *p = &probes[i];

		if ((p->rings & R1) && !run_probe(p, 1) && p->target == SW_RO_PAGE)
			ro_read = true;
		if (p->rings & R3)
			run_probe(p, 3);
	}
	if (ro_read && !strict)
		show_ro_page();
	umbra_printf("%u stopped, %u not stopped\n", stopped, not_stopped);
	return (int)failures;
}
