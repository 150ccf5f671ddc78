/*
 * A hypercall storm: the most expensive batches the ABI allows, one kind
 * per phase, for phase_ms milliseconds each. Beside it the latency guest
 * measures how long it is kept waiting; the hypervisor's summary says how
 * long one hypercall (or one piece of a long MULTICALL) held the CPU.
 *
 * Phases: FLUSH_TLB all with 64 cached, populated top levels; FLUSH_TLB
 * user; SET_PGD (a top-level change drops a whole region's shadow);
 * NEW_PGTABLE among more tables than the cache holds; console writes of
 * 4 KiB of newlines (the costliest output per byte).
 */
#include <umbra/kernel.h>
#include <umbra/paging.h>

#define TOPS		64
#define REGIONS		256
#define REGION		(1u << UMBRA_PT_DIR_SHIFT)
#define VA_BASE		0x40000000u
#define POOL		0x00800000u
#define POOL_END	0x01000000u
#define DATA		0x00600000u
#define BATCH		UMBRA_MULTICALL_MAX

static uint32_t tops[TOPS + 1], template_top, mem;
static struct umbra_multicall mc[BATCH];
static char newlines[4096];

/* Every top maps guest memory and the REGIONS far pages, through shared leaf tables. */
static void build_tables(void)
{
	umbra_pt_pool(POOL, POOL_END);
	template_top = umbra_pt_new_top();
	umbra_batch_begin();
	for (uint32_t va = UMBRA_PAGE; va < mem; va += UMBRA_PAGE)
		umbra_map(template_top, va, va, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A | UMBRA_PTE_D);
	for (uint32_t r = 0; r < REGIONS; r++)
		umbra_map(template_top, VA_BASE + r * REGION, DATA + (r % 16) * UMBRA_PAGE,
			  UMBRA_PTE_P | UMBRA_PTE_W);
	umbra_batch_end();
	for (unsigned t = 0; t <= TOPS; t++) {
		tops[t] = umbra_pt_new_top();
		for (uint32_t va = 0; va < mem; va += REGION)
			umbra_share_dir(tops[t], template_top, va);
		for (uint32_t r = 0; r < REGIONS; r++)
			umbra_share_dir(tops[t], template_top, VA_BASE + r * REGION);
	}
}

/* Switch to each of the 64 tables and touch every far page: 256 shadow leaf tables each. */
static void populate(void)
{
	for (unsigned t = 0; t < TOPS; t++) {
		umbra_new_pgtable(tops[t]);
		for (uint32_t r = 0; r < REGIONS; r++)
			(void)*(volatile uint32_t *)(VA_BASE + r * REGION);
	}
}

static void fill(uint32_t op, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3)
{
	for (unsigned i = 0; i < BATCH; i++)
		mc[i] = (struct umbra_multicall){ op, { a0, a1, a2, a3 }, 0 };
}

static bool batch_ok(unsigned n)
{
	if (umbra_multicall(mc, n) != (long)n)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (mc[i].result < 0)
			return false;
	return true;
}

static uint64_t deadline;

static bool phase_running(void)
{
	return umbra_rdtsc() < deadline;
}

static char report[512];
static unsigned report_len;

/* The phases' lines are printed at the end: the console flood would cut them. */
static void phase(const char *name, uint32_t ms, void (*run)(void))
{
	unsigned rounds = 0;

	deadline = umbra_rdtsc() + (uint64_t)ms * umbra_shared.tsc_khz;
	while (phase_running()) {
		run();
		rounds++;
	}
	report_len += umbra_snprintf(report + report_len, sizeof(report) - report_len,
				     "storm: %s: %u rounds\n", name, rounds);
}

static bool failed;

static void flush_all(void)
{
	populate();
	fill(UMBRA_HC_FLUSH_TLB, UMBRA_FLUSH_ALL, 0, 0, 0);
	failed |= !batch_ok(BATCH);
}

static void flush_user(void)
{
	populate();
	fill(UMBRA_HC_FLUSH_TLB, UMBRA_FLUSH_USER, 0, 0, 0);
	failed |= !batch_ok(BATCH);
}

static void set_pgd(void)
{
	umbra_pte_t *e = (umbra_pte_t *)(uintptr_t)tops[0];
	unsigned index = VA_BASE >> (UMBRA_PAE ? 30 : 22);

	populate();
	umbra_new_pgtable(tops[0]);
	for (unsigned i = 0; i < BATCH; i++) {
		umbra_pte_t v = e[index];

		mc[i] = (struct umbra_multicall){ UMBRA_HC_SET_PGD,
			{ tops[0], index, (uint32_t)v, (uint32_t)((uint64_t)v >> 32) }, 0 };
	}
	failed |= !batch_ok(BATCH);
}

static void new_pgtable(void)
{
	for (unsigned i = 0; i < BATCH; i++)
		mc[i] = (struct umbra_multicall){ UMBRA_HC_NEW_PGTABLE, { tops[i % (TOPS + 1)], 0, 0, 0 }, 0 };
	failed |= !batch_ok(BATCH);
}

static void console(void)
{
	fill(UMBRA_HC_CONSOLE_WRITE, (uint32_t)(uintptr_t)newlines, sizeof(newlines), 0, 0);
	failed |= !batch_ok(256);
}

int guest_main(const struct umbra_boot_info *bi)
{
	uint32_t ms = umbra_arg_u32(bi, "phase_ms", 400);

	mem = bi->mem_bytes;
	for (unsigned i = 0; i < sizeof(newlines); i++)
		newlines[i] = '\n';
	umbra_shared_init(0, 0);
	build_tables();
	phase("flush_tlb all, 64 top levels", ms, flush_all);
	phase("flush_tlb user", ms, flush_user);
	phase("set_pgd", ms, set_pgd);
	phase("new_pgtable among 65 tables", ms, new_pgtable);
	phase("console_write of 4 KiB of newlines", ms, console);
	/* The flood put this guest over its console budget: let it refill. */
	deadline = umbra_rdtsc() + 1200ull * umbra_shared.tsc_khz;
	while (phase_running())
		umbra_yield();
	umbra_new_pgtable(tops[0]);
	umbra_printf("%s", report);
	umbra_check(!failed, "storm: every batched call succeeded");
	return 0;
}
