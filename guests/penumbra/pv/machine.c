/*
 * The PV machine: penumbra in ring 1 on umbra. Privileged work is a
 * hypercall; page-table changes are queued and sent as one MULTICALL; the
 * interrupt flag is the shared page's irq_enabled; time is a one-shot
 * timer re-armed on every tick.
 */
#include <umbra/elfnote.h>
#include <umbra/hypercall.h>
#include <umbra/kernel.h>
#include "../machine.h"
#include "../kernel.h"

UMBRA_GUEST_NOTE(UMBRA_PAE ? UMBRA_PAGING_PAE : UMBRA_PAGING_2LEVEL);

struct umbra_shared pv_shared __attribute__((aligned(4096)));
static struct umbra_shared *const sh = &pv_shared;

#define TICK_NS		(1000000000ull / TIMER_HZ)
#define EFLAGS_IF	0x200u

static long hcall(uint32_t nr, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t a4)
{
	return umbra_hcall(nr, a1, a2, a3, a4);
}

/*
 * The queue of page-table announcements. The guest's own entry is written
 * at once; umbra hears of it when the queue is sent, which the core does
 * before anything runs on the changed table (mach_pt_commit).
 *
 * Leaf entries written one after another, as fork, munmap, mmap and exit
 * write them, are not announced one by one: the queue keeps the run of
 * pages they fall in and sends it as one UPDATE_RANGE, which umbra reads
 * from the tables in a loop; fork's write-protects make a run of their own,
 * sent as one PROTECT_RANGE, which umbra carries out. Entries in a gap of
 * a run are read again, or are not writable, which is harmless.
 */
#define QUEUE_MAX	512
#define RUN_GAP		16		/* pages a run may skip and still grow */
static struct umbra_multicall queue[QUEUE_MAX];
static unsigned queued;

static struct {
	uint32_t op;			/* UMBRA_HC_UPDATE_RANGE or _PROTECT_RANGE */
	uint32_t top, start, pages;	/* pages == 0: no run open */
	uint32_t set;			/* PROTECT_RANGE's bits */
} run;

static void queue_call(uint32_t op, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t a4);

static void close_run(void)
{
	if (!run.pages)
		return;
	uint32_t pages = run.pages;

	run.pages = 0;
	queue_call(run.op, run.top, run.start, pages, run.set);
}

/* Whether the leaf entry for va can join the open run. */
static bool joins_run(uint32_t op, uint32_t top, uint32_t va, uint32_t set)
{
	uint32_t end = run.start + run.pages * PAGE_SIZE;

	return run.pages && op == run.op && top == run.top && set == run.set && va >= run.start &&
	       va < end + RUN_GAP * PAGE_SIZE && (va - run.start) / PAGE_SIZE < UMBRA_RANGE_MAX;
}

static void note_leaf(uint32_t op, uint32_t top, uint32_t va, uint32_t set)
{
	va &= ~(PAGE_SIZE - 1);
	if (joins_run(op, top, va, set)) {
		uint32_t pages = (va - run.start) / PAGE_SIZE + 1;

		if (pages > run.pages)
			run.pages = pages;
		return;
	}
	close_run();
	run.op = op;
	run.top = top;
	run.start = va;
	run.pages = 1;
	run.set = set;
}

static void queue_call(uint32_t op, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t a4)
{
	if (op != UMBRA_HC_UPDATE_RANGE && op != UMBRA_HC_PROTECT_RANGE)
		close_run();
	if (queued == QUEUE_MAX)
		mach_pt_commit();
	queue[queued++] = (struct umbra_multicall){ op, { a1, a2, a3, a4 }, 0 };
}

/* One call is made directly: a batch of one costs more than the call. */
static void __attribute__((noinline)) send_queue(void)
{
	long r;

	close_run();
	if (queued == 1) {
		const struct umbra_multicall *c = &queue[0];

		queued = 0;
		r = hcall(c->op, c->args[0], c->args[1], c->args[2], c->args[3]);
		if (r < 0)
			panic("pv: call %u (0x%x 0x%x) failed: %ld", c->op, c->args[0], c->args[1], r);
		return;
	}
	hcall(UMBRA_HC_MULTICALL, (uint32_t)queue, queued, 0, 0);
	for (unsigned i = 0; i < queued; i++)
		if (queue[i].result < 0)
			panic("pv: multicall entry %u (op %u, 0x%x 0x%x) failed: %d", i, queue[i].op,
			      queue[i].args[0], queue[i].args[1], queue[i].result);
	queued = 0;
}

void mach_pt_commit(void)
{
	if (queued || run.pages)	/* nothing, on almost every system call */
		send_queue();
}

void mach_pte_write(uint32_t top, uint32_t va, unsigned level, void *slot, uint64_t value)
{
	const struct pt_level *l = &PT->level[level];
	uint32_t where = l->hc == UMBRA_HC_SET_PGD ? pt_index(PT, level, va) : va;

	pt_put(PT, slot, 0, value);
	if (level == PT_LEAF(PT))
		note_leaf(UMBRA_HC_UPDATE_RANGE, top, va, 0);
	else
		queue_call(l->hc, top, where, (uint32_t)value, (uint32_t)(value >> 32));
}

void mach_pt_protect(uint32_t top, uint32_t va, void *slot, uint64_t set)
{
	(void)slot;
	note_leaf(UMBRA_HC_PROTECT_RANGE, top, va, (uint32_t)set);
}

/*
 * A top-level table about to be freed: its page may come back as another
 * process's table, which must not meet the old one's shadow.
 */
void mach_pt_release(uint32_t top)
{
	queue_call(UMBRA_HC_RELEASE_PGTABLE, top, 0, 0, 0);
}

/* The table and the kernel stack in one call, after what is queued. */
void mach_switch(uint32_t top, uint32_t kstack_top)
{
	queue_call(UMBRA_HC_SWITCH, top, kstack_top, 2, 0);
	mach_pt_commit();
}

bool mach_irq_save(void)
{
	bool on = sh->irq_enabled;

	sh->irq_enabled = 0;
	__asm__ volatile("" ::: "memory");
	return on;
}

static void irq_on(void)
{
	__asm__ volatile("" ::: "memory");
	sh->irq_enabled = 1;
	__asm__ volatile("" ::: "memory");
	if (sh->irq_pending)
		hcall(UMBRA_HC_IRQ_ENABLE, 0, 0, 0, 0);
}

void mach_irq_restore(bool on)
{
	if (on)
		irq_on();
}

/* iret cannot set the virtual flag: restore it as the frame says. */
void mach_irq_return(const struct trapframe *tf)
{
	if (tf->eflags & EFLAGS_IF)
		irq_on();
}

/* "cli", check, HALT, "sti": an interrupt that came meanwhile ends the HALT. */
void mach_idle(void)
{
	sh->irq_enabled = 0;
	hcall(UMBRA_HC_HALT, 0, 0, 0, 0);
	irq_on();
	sh->irq_enabled = 0;
}

void mach_irq(unsigned vector)
{
	char buf[64];
	long n;

	if (vector == UMBRA_IRQ_VECTOR(UMBRA_IRQ_TIMER)) {
		hcall(UMBRA_HC_SET_TIMER, (uint32_t)TICK_NS, (uint32_t)(TICK_NS >> 32), 0, 0);
		clock_tick();
	} else if (vector == UMBRA_IRQ_VECTOR(UMBRA_IRQ_CONSOLE)) {
		while ((n = hcall(UMBRA_HC_CONSOLE_READ, (uint32_t)buf, sizeof(buf), 0, 0)) > 0)
			console_input(buf, (uint32_t)n);
	}
}

void mach_console_write(const char *s, uint32_t n)
{
	while (n) {
		uint32_t chunk = n > 4096 ? 4096 : n;

		hcall(UMBRA_HC_CONSOLE_WRITE, (uint32_t)s, chunk, 0, 0);
		s += chunk;
		n -= chunk;
	}
}

uint64_t mach_rdtsc(void)
{
	return umbra_rdtsc();
}

uint32_t mach_fault_address(void)
{
	return sh->cr2;
}

void mach_counters(struct pn_counters *c)
{
	c->world_switches = sh->world_switches;
	c->hypercalls = sh->hypercalls;
	c->cr3_loads = sh->cr3_loads;
	c->desc_loads = sh->desc_loads;
	c->shadow_faults = sh->shadow_faults;
	c->reflected = sh->reflected;
	c->pv = 1;
	c->tsc_khz = sh->tsc_khz;
}

const char *mach_name(void)
{
	return "pv";
}

void mach_poweroff(int status)
{
	for (;;)
		hcall(UMBRA_HC_SHUTDOWN, (uint32_t)status, 0, 0, 0);
}

/* Exceptions and interrupts through interrupt gates, system calls through a trap gate. */
static void install_gates(void)
{
	for (unsigned v = 0; v < 34; v++) {
		if (v == 2 || v == 8 || v == 18 || v == 7)
			continue;
		umbra_hcall(UMBRA_HC_SET_TRAP, v, (uint32_t)umbra_gate(trap_stubs[v], UMBRA_GATE_INTR, 1),
			    (uint32_t)(umbra_gate(trap_stubs[v], UMBRA_GATE_INTR, 1) >> 32), 0);
	}
	uint64_t g = umbra_gate(trap_stubs[VEC_SYSCALL], UMBRA_GATE_TRAP, 3);

	hcall(UMBRA_HC_SET_TRAP, VEC_SYSCALL, (uint32_t)g, (uint32_t)(g >> 32), 0);
}

void mach_init(void)
{
	char none;

	install_gates();
	hcall(UMBRA_HC_SET_TIMER, (uint32_t)TICK_NS, (uint32_t)(TICK_NS >> 32), 0, 0);
	/* A read of nothing says this guest reads console input: it may get the focus. */
	hcall(UMBRA_HC_CONSOLE_READ, (uint32_t)&none, 0, 0, 0);
}

void pv_start(const struct umbra_boot_info *bi);

void pv_start(const struct umbra_boot_info *bi)
{
	boot_params.cmdline = bi->cmdline;
	kmain(&boot_params);
}
