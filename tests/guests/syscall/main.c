/*
 * System calls from ring 3 through the direct trap, and the cost of the
 * three ways into a guest kernel.
 *
 * Vector 0x80 is declared as the system-call vector with a DPL-3 trap gate,
 * so `int $0x80` goes from ring 3 straight to the ring-1 handler through
 * the real IDT: the world-switch counter in the shared page must not move.
 * Vector 0x81 has the same handler behind an interrupt gate, which umbra
 * never installs directly, so each call there is a world switch and a
 * reflection: the comparison shows what the direct trap saves.
 *
 * Figures (TSC, which counts instructions under QEMU -icount shift=0):
 * a null hypercall round trip, a reflected page fault from fault to the
 * handler's iret back, and a direct-trap system call.
 */
#include <umbra/kernel.h>

#define CALLS		1000
#define SYS_EXIT	0	/* back to the kernel with a value */
#define SYS_ADD		1	/* ebx + ecx */
#define SYS_COUNT	2	/* how many calls so far */

static uint32_t calls;
static uint32_t pf_resume;

void umbra_trap_handler(struct umbra_frame *f)
{
	if (f->vector == 14) {
		f->eip = pf_resume;
		return;
	}
	calls++;
	switch (f->eax) {
	case SYS_EXIT:
		umbra_user_return(f->ebx);
	case SYS_ADD:
		f->eax = f->ebx + f->ecx;
		break;
	case SYS_COUNT:
		f->eax = calls;
		break;
	default:
		f->eax = (uint32_t)-1;
	}
}

static inline uint32_t sys(uint32_t vector_is_81, uint32_t nr, uint32_t a, uint32_t b)
{
	uint32_t r;

	if (vector_is_81)
		__asm__ volatile("int $0x81" : "=a"(r) : "a"(nr), "b"(a), "c"(b) : "memory");
	else
		__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b) : "memory");
	return r;
}

static uint32_t use_81;
static uint64_t user_cycles;

/* Ring 3: CALLS additions, each checked; exit with the number that were right. */
static void user_main(void)
{
	uint32_t right = 0;
	uint64_t t0 = umbra_rdtsc();

	for (uint32_t i = 0; i < CALLS; i++)
		right += sys(use_81, SYS_ADD, i, 3 * i) == 4 * i;
	user_cycles = umbra_rdtsc() - t0;
	right += sys(use_81, SYS_COUNT, 0, 0) == CALLS + 1;
	sys(use_81, SYS_EXIT, right, 0);
}

static char user_stack[8192] __attribute__((aligned(16)));
static char kernel_stack[8192] __attribute__((aligned(4096)));

static void run_calls(uint32_t via_81, const char *name)
{
	uint64_t switches;
	uint32_t right;

	use_81 = via_81;
	calls = 0;
	switches = umbra_shared.world_switches;
	right = umbra_run_user(user_main, (uint32_t)user_stack + sizeof(user_stack));
	switches = umbra_shared.world_switches - switches;
	if (right == CALLS + 1)
		umbra_pass(name);
	else
		umbra_fail(name, "%u of %u calls returned the right value", right, CALLS + 1);
	umbra_printf("FIGURE %s: %llu instructions per call, %llu world switches per %u calls\n",
		     name, user_cycles / CALLS, switches, CALLS);
	/* What remains are the hypervisor's own timer ticks, not the calls. */
	if (!via_81)
		umbra_check(switches <= 2, "direct trap: no world switch per system call");
	else
		umbra_check(switches >= CALLS, "interrupt gate: one world switch per call");
}

static void measure_hypercall(void)
{
	uint64_t t0 = umbra_rdtsc();

	for (int i = 0; i < CALLS; i++)
		umbra_hcall(UMBRA_HC_IRQ_ENABLE, 0, 0, 0, 0);
	umbra_printf("FIGURE hypercall round trip: %llu instructions\n",
		     (umbra_rdtsc() - t0) / CALLS);
}

/* A load that faults; the handler resumes at pf_load_next. */
__asm__(".text\npf_load:\n\tmov (%ecx), %eax\npf_load_next:\n\tret\n");
extern char pf_load_next[];

/* Each load lies beyond guest memory, is reflected, and resumes after it. */
static void measure_page_fault(uint32_t addr)
{
	uint64_t t0 = umbra_rdtsc();

	pf_resume = (uint32_t)pf_load_next;
	for (int i = 0; i < CALLS; i++)
		__asm__ volatile("call pf_load" :: "c"(addr) : "eax", "memory");
	umbra_printf("FIGURE reflected page fault: %llu instructions\n",
		     (umbra_rdtsc() - t0) / CALLS);
}

int guest_main(const struct umbra_boot_info *bi)
{
	umbra_check(umbra_shared_init(0, 0x80) == 0, "declare vector 0x80 for system calls");
	umbra_set_stack((uint32_t)kernel_stack + sizeof(kernel_stack), 2);
	umbra_set_trap(0x80, (void (*)(void))umbra_trap_stub(0x80), UMBRA_GATE_TRAP, 3);
	umbra_set_trap(0x81, (void (*)(void))umbra_trap_stub(0x81), UMBRA_GATE_INTR, 3);
	umbra_set_trap(14, (void (*)(void))umbra_trap_stub(14), UMBRA_GATE_INTR, 1);
	/* A first run faults in the stacks, so the measured one switches for nothing else. */
	umbra_run_user(user_main, (uint32_t)user_stack + sizeof(user_stack));
	run_calls(0, "direct-trap system call");
	run_calls(1, "reflected system call");
	measure_hypercall();
	measure_page_fault(bi->mem_bytes + 0x10000);
	return 0;
}
