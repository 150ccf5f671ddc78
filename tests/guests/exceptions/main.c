/*
 * Every reflectable exception, taken from ring 1 and from ring 3, must reach
 * the guest's handler with exactly the frame the CPU would have pushed:
 * vector, error code, eip (the faulting instruction for a fault, the next
 * one for a trap), cs, eflags with the virtual interrupt flag, and esp/ss
 * when the exception came from ring 3; a page fault also sets the virtual
 * CR2 in the shared page.
 *
 * Each trigger is a few instructions of assembly with a label on the
 * instruction that raises the exception (NAME_at) and one after it
 * (NAME_next). In ring 1 the handler resumes at NAME_next; in ring 3 it
 * records the frame and returns to the kernel through umbra_user_return().
 */
#include <umbra/kernel.h>

#define TRIGGER(name, setup, insn)					\
	__asm__(".text\n.globl " #name "\n" #name ":\n\t" setup "\n"	\
		".globl " #name "_at\n" #name "_at:\n\t" insn "\n"	\
		".globl " #name "_next\n" #name "_next:\n\tret\n");	\
	extern char name[], name##_at[], name##_next[]

uint32_t pf_addr;
uint32_t bound_pair[2] = { 0, 10 };
uint32_t misaligned[2];

TRIGGER(t_de, "xor %edx, %edx; mov $1, %eax; xor %ecx, %ecx", "div %ecx");
TRIGGER(t_bp, "", "int3");
TRIGGER(t_of, "mov $0x7fffffff, %eax; add $1, %eax", "into");
TRIGGER(t_br, "mov $100, %eax", "bound %eax, bound_pair");
TRIGGER(t_ud, "", "ud2");
TRIGGER(t_gp, "", "int $0x99");
TRIGGER(t_pf_read, "mov pf_addr, %ecx", "mov (%ecx), %eax");
TRIGGER(t_pf_write, "mov pf_addr, %ecx", "movl $1, (%ecx)");
/* If the CPU does not check alignment, the int $0x99 after the load says so. */
TRIGGER(t_ac, "pushf; orl $0x40000, (%esp); popf; lea misaligned+1, %ecx",
	"mov (%ecx), %eax; int $0x99");

struct expect {
	const char *name;
	void (*fn)(void);
	const char *at, *next;
	unsigned vector;
	bool trap;		/* eip is the next instruction, not the faulting one */
	bool ring1;		/* the CPU raises it in ring 1 too (#AC is ring 3 only) */
	uint32_t error;		/* expected error code from ring 1; ring 3 may differ */
	uint32_t error3;
};

static const struct expect cases[] = {
	{ "divide error", (void (*)(void))t_de, t_de_at, t_de_next, 0, false, true, 0, 0 },
	{ "breakpoint", (void (*)(void))t_bp, t_bp_at, t_bp_next, 3, true, true, 0, 0 },
	{ "overflow", (void (*)(void))t_of, t_of_at, t_of_next, 4, true, true, 0, 0 },
	{ "bound range", (void (*)(void))t_br, t_br_at, t_br_next, 5, false, true, 0, 0 },
	{ "invalid opcode", (void (*)(void))t_ud, t_ud_at, t_ud_next, 6, false, true, 0, 0 },
	/* int $0x99 through a DPL-0 gate: #GP with the IDT bit and vector in the code. */
	{ "general protection", (void (*)(void))t_gp, t_gp_at, t_gp_next, 13, false, true,
	  0x99 * 8 + 2, 0x99 * 8 + 2 },
	/* Not present; bit 1 = write, bit 2 = user mode. */
	{ "page fault read", (void (*)(void))t_pf_read, t_pf_read_at, t_pf_read_next, 14, false, true, 0, 4 },
	{ "page fault write", (void (*)(void))t_pf_write, t_pf_write_at, t_pf_write_next, 14, false, true, 2, 6 },
	{ "alignment check", (void (*)(void))t_ac, t_ac_at, t_ac_next, 17, false, false, 0, 0 },
};

static struct umbra_frame seen;
static uint32_t seen_cr2, seen_if;
static int in_user;
static const struct expect *running;

void umbra_trap_handler(struct umbra_frame *f)
{
	seen = *f;
	seen_cr2 = umbra_shared.cr2;
	seen_if = umbra_shared.irq_enabled;
	if (in_user)
		umbra_user_return(1);
	f->eip = (uint32_t)running->next;
}

static char user_stack[4096] __attribute__((aligned(16)));
static char kernel_stack[8192] __attribute__((aligned(4096)));

static void check_frame(const struct expect *e, bool user, uint32_t user_esp)
{
	char name[64];
	uint32_t eip = (uint32_t)(e->trap ? e->next : e->at);
	uint32_t err = user ? e->error3 : e->error;
	int bad = 0;

	umbra_snprintf(name, sizeof(name), "%s from ring %d", e->name, user ? 3 : 1);
	if (e->vector == 17 && seen.vector == 13) {
		/* QEMU's TCG does not emulate #AC; say so rather than pass or fail. */
		umbra_printf("NOTE %s: this CPU raised no #AC for a misaligned load\n", name);
		return;
	}
#define FIELD(cond, fmt, ...) \
	do { if (!(cond)) { umbra_fail(name, fmt, __VA_ARGS__); bad = 1; } } while (0)
	FIELD(seen.vector == e->vector, "vector %u, expected %u", seen.vector, e->vector);
	FIELD(seen.error == err, "error code 0x%x, expected 0x%x", seen.error, err);
	FIELD(seen.eip == eip, "eip 0x%x, expected 0x%x", seen.eip, eip);
	FIELD(seen.cs == (user ? UMBRA_USER_CS : UMBRA_KERNEL_CS), "cs 0x%x", seen.cs);
	FIELD(seen.eflags & 2, "eflags 0x%x lacks the reserved bit", seen.eflags);
	FIELD(!!(seen.eflags & 0x200) == user, "eflags 0x%x: IF should be the virtual flag (%d)",
	      seen.eflags, user);
	FIELD(seen_if == 0, "virtual IF %u inside an interrupt-gate handler", seen_if);
	if (user) {
		FIELD(seen.esp == user_esp, "esp 0x%x, expected 0x%x", seen.esp, user_esp);
		FIELD(seen.ss == UMBRA_USER_DS, "ss 0x%x", seen.ss);
	}
	if (e->vector == 14)
		FIELD(seen_cr2 == pf_addr, "cr2 0x%x, expected 0x%x", seen_cr2, pf_addr);
#undef FIELD
	if (!bad)
		umbra_pass(name);
}

static void run_case(const struct expect *e, bool user)
{
	uint32_t top = (uint32_t)user_stack + sizeof(user_stack);

	running = e;
	__builtin_memset(&seen, 0xff, sizeof(seen));
	umbra_shared.irq_enabled = user;	/* the frame must carry this as IF */
	in_user = user;
	if (user)
		umbra_run_user(e->fn, top);
	else
		e->fn();
	in_user = 0;
	umbra_shared.irq_enabled = 0;
	check_frame(e, user, top);
}

int guest_main(const struct umbra_boot_info *bi)
{
	umbra_check(umbra_shared_init(0, 0) == 0, "register shared page");
	umbra_check(umbra_set_stack((uint32_t)kernel_stack + sizeof(kernel_stack), 2) == 0,
		    "set kernel stack");
	for (unsigned v = 0; v < 20; v++) {
		/* int3 and into must work from ring 3: their gates need DPL 3. */
		unsigned dpl = (v == 3 || v == 4) ? 3 : 1;

		if (v != 2 && v != 8 && v != 18)
			umbra_set_trap(v, (void (*)(void))umbra_trap_stub(v), UMBRA_GATE_INTR, dpl);
	}
	pf_addr = bi->mem_bytes + 0x3000;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].ring1)
			run_case(&cases[i], false);
		run_case(&cases[i], true);
	}
	return 0;
}
