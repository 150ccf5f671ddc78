/*
 * What shadow paging costs, per operation, in TSC ticks (instructions
 * under QEMU -icount shift=0). Run with shadows=32 on the module line.
 *
 *   shadow page fault        first touch of a page the guest mapped but
 *                            never marked accessed: fault, walk, fill, retry
 *   first touch, accessed    the same when the guest marks its entries
 *                            accessed, as most kernels do: fault-around
 *                            fills 16 pages per fault
 *   switch to cached shadow  new_pgtable between two cached address spaces
 *   set_pte single/batched   one hypercall per update, or 1000 per multicall
 *   mmu_update batched       the same 1000 updates named by where the entries
 *                            live, in one call: no walk, the reverse map
 *   kernel mapping change    set_pte on a kernel address, with 1 and then
 *                            32 cached top levels: shared kernel leaf tables
 *                            should make the two equal
 *   update_range             1000 shadowed entries rewritten in place (a
 *                            remap with A set, a write-protect as fork
 *                            does, a clear as munmap does), then one call;
 *                            the guest's own stores included
 *   process switch           new_pgtable and set_stack as two calls, as
 *                            one multicall, and as one switch call
 *   fork-like copy           1000 shadowed entries write-protected with one
 *                            protect_range, then copied into a new table
 *                            (no call: nothing was shadowed from it); per
 *                            entry, all included
 *   munmap-like clear        1000 shadowed entries cleared in place, then
 *                            one update_range; per entry, all included
 */
#include <umbra/kernel.h>
#include <umbra/paging.h>

#define KBASE		0xc0000000u
#define VA		0x40000000u
#define POOL		0x00800000u
#define POOL_END	0x00f00000u
#define N		1000
#define SPACES		32
#define RW		(UMBRA_PTE_P | UMBRA_PTE_W)
#define RWAD		(RW | UMBRA_PTE_A | UMBRA_PTE_D)

static uint32_t mem, tops[SPACES];
static uint64_t t0;

static void start(void)
{
	t0 = umbra_rdtsc();
}

static uint64_t per_op(uint32_t n)
{
	return (umbra_rdtsc() - t0) / n;
}

static uint32_t new_space(void)
{
	uint32_t top = umbra_pt_new_top();

	for (uint32_t va = 0; va < mem; va += 1u << UMBRA_PT_DIR_SHIFT)
		umbra_share_dir(top, tops[0], va);
	umbra_share_dir(top, tops[0], KBASE);
	return top;
}

static void bench_fault(void)
{
	volatile uint32_t sink = 0;

	for (uint32_t i = 0; i < N; i++)
		umbra_map(tops[0], VA + i * UMBRA_PAGE, 0x400000 + (i % 256) * UMBRA_PAGE, RW);
	start();
	for (uint32_t i = 0; i < N; i++)
		sink += *(volatile uint32_t *)(VA + i * UMBRA_PAGE);
	umbra_printf("FIGURE shadow page fault: %llu instructions\n", per_op(N));

	/* Written behind the hypervisor's back, then one flush: no prefill. */
	for (uint32_t i = 0; i < N; i++)
		*umbra_pte_slot(tops[0], VA + i * UMBRA_PAGE) |= UMBRA_PTE_A;
	umbra_flush(UMBRA_FLUSH_USER, 0);
	start();
	for (uint32_t i = 0; i < N; i++)
		sink += *(volatile uint32_t *)(VA + i * UMBRA_PAGE);
	umbra_printf("FIGURE first touch of pages marked accessed: %llu instructions per page\n",
		     per_op(N));
	(void)sink;
}

static void bench_switch(void)
{
	umbra_new_pgtable(tops[1]);
	umbra_new_pgtable(tops[0]);
	start();
	for (uint32_t i = 0; i < N; i++)
		umbra_new_pgtable(tops[i & 1]);
	umbra_printf("FIGURE new_pgtable to a cached shadow: %llu instructions\n", per_op(N));
	umbra_new_pgtable(tops[0]);
}

static void bench_set_pte(void)
{
	uint64_t sw, single, batched;

	start();
	for (uint32_t i = 0; i < N; i++)
		umbra_map(tops[0], VA + i * UMBRA_PAGE, 0x500000 + (i % 256) * UMBRA_PAGE, RWAD);
	single = per_op(N);
	umbra_batch_begin();
	for (uint32_t i = 0; i < N; i++)
		umbra_map(tops[0], VA + i * UMBRA_PAGE, 0x400000 + (i % 256) * UMBRA_PAGE, RWAD);
	sw = umbra_shared.world_switches;
	start();
	umbra_batch_end();
	batched = per_op(N);
	sw = umbra_shared.world_switches - sw;
	umbra_printf("FIGURE set_pte single: %llu instructions per update, 1 update per world switch\n",
		     single);
	umbra_printf("FIGURE set_pte batched: %llu instructions per update, %llu updates per world switch\n",
		     batched, N / (sw ? sw : 1));
}

/*
 * Rewrite the N entries from VA on in place, then announce them in one
 * call; the call's cost per entry (the guest's own stores are apart).
 */
static uint64_t range_rewrite(uint32_t flags, uint32_t base)
{
	uint64_t calls;
	uint64_t t;

	for (uint32_t i = 0; i < N; i++)
		*umbra_pte_slot(tops[0], VA + i * UMBRA_PAGE) =
			flags ? (base + (i % 256) * UMBRA_PAGE) | flags : 0;
	calls = umbra_shared.hypercalls;
	start();
	umbra_update_range(tops[0], VA, N);
	t = per_op(N);
	umbra_check(umbra_shared.hypercalls - calls == 1, "update_range: one call for 1000 entries");
	return t;
}

static void bench_range(void)
{
	volatile uint32_t sink = 0;
	uint64_t remap, protect, clear;

	for (uint32_t i = 0; i < N; i++)	/* shadowed, so there is work to do */
		sink += *(volatile uint32_t *)(VA + i * UMBRA_PAGE);
	remap = range_rewrite(RWAD, 0x500000);
	protect = range_rewrite(UMBRA_PTE_P | UMBRA_PTE_A | UMBRA_PTE_D, 0x500000);
	clear = range_rewrite(0, 0);
	umbra_printf("FIGURE update_range: %llu instructions per entry remapped, %llu write-protected, "
		     "%llu cleared\n", remap, protect, clear);
	(void)sink;
}

/* The guest's leaf entry i of the N from VA on, found one leaf table at a time. */
static inline __attribute__((always_inline)) umbra_pte_t *entry(uint32_t i)
{
	static umbra_pte_t *table;
	uint32_t idx = (VA / UMBRA_PAGE + i) % UMBRA_PT_ENTRIES;

	if (i == 0 || idx == 0)
		table = umbra_pte_slot(tops[0], VA + i * UMBRA_PAGE) - idx;
	return &table[idx];
}

static void shadow_all(void)
{
	volatile uint32_t sink = 0;

	for (uint32_t i = 0; i < N; i++)
		sink += *(volatile uint32_t *)(VA + i * UMBRA_PAGE);
	(void)sink;
}

static void bench_fork_munmap(void)
{
	static umbra_pte_t child[N];
	uint64_t fork, munmap, calls = umbra_shared.hypercalls;

	umbra_batch_begin();
	for (uint32_t i = 0; i < N; i++)
		umbra_map(tops[0], VA + i * UMBRA_PAGE, 0x400000 + (i % 256) * UMBRA_PAGE, RWAD);
	umbra_batch_end();
	shadow_all();
	start();
	umbra_protect_range(tops[0], VA, N, 0x200);
	for (uint32_t i = 0; i < N; i++)
		child[i] = *entry(i);
	fork = per_op(N);
	umbra_check(!(*entry(N - 1) & UMBRA_PTE_W) && (*entry(N - 1) & 0x200) &&
		    child[N - 1] == *entry(N - 1), "fork-like copy: the entries are protected and copied");
	shadow_all();
	calls = umbra_shared.hypercalls;
	start();
	for (uint32_t i = 0; i < N; i++)
		*entry(i) = 0;
	umbra_update_range(tops[0], VA, N);
	munmap = per_op(N);
	umbra_check(umbra_shared.hypercalls - calls == 1, "munmap-like clear: one call for 1000 entries");
	umbra_printf("FIGURE fork-like copy: %llu instructions per entry; munmap-like clear: %llu\n",
		     fork, munmap);
}

static char kernel_stack[8192] __attribute__((aligned(4096)));
#define STACK_TOP	((uint32_t)kernel_stack + sizeof(kernel_stack))

static void bench_process_switch(void)
{
	struct umbra_multicall mc[2] = {
		{ UMBRA_HC_NEW_PGTABLE, { 0 }, 0 },
		{ UMBRA_HC_SET_STACK, { UMBRA_KERNEL_DS, STACK_TOP, 2, 0 }, 0 },
	};
	uint64_t two, batch, one;

	start();
	for (uint32_t i = 0; i < N; i++) {
		umbra_new_pgtable(tops[i & 1]);
		umbra_set_stack(STACK_TOP, 2);
	}
	two = per_op(N);
	start();
	for (uint32_t i = 0; i < N; i++) {
		mc[0].args[0] = tops[i & 1];
		umbra_multicall(mc, 2);
	}
	batch = per_op(N);
	start();
	for (uint32_t i = 0; i < N; i++)
		umbra_switch(tops[i & 1], STACK_TOP, 2);
	one = per_op(N);
	umbra_switch(tops[0], 0, 0);
	umbra_printf("FIGURE process switch (table and kernel stack): %llu instructions as two calls, "
		     "%llu as one multicall, %llu as one switch call\n", two, batch, one);
}

/* MMU_UPDATE of the same 1000 entries as the batched set_pte, the list made beforehand. */
static void bench_mmu_update(void)
{
	static struct umbra_mmu_update u[N];
	uint64_t calls, t;

	for (uint32_t i = 0; i < N; i++)
		u[i] = (struct umbra_mmu_update){ (uint32_t)umbra_pte_slot(tops[0], VA + i * UMBRA_PAGE),
						  (0x500000 + (i % 256) * UMBRA_PAGE) | RWAD };
	calls = umbra_shared.hypercalls;
	start();
	umbra_mmu_update(u, N);
	t = per_op(N);
	umbra_check(umbra_shared.hypercalls - calls == 1, "mmu_update: one call for 1000 entries");
	umbra_check(*(volatile uint32_t *)(VA + 999 * UMBRA_PAGE) ==
		    *(volatile uint32_t *)(0x500000 + (999 % 256) * UMBRA_PAGE), "mmu_update: the last entry took effect");
	umbra_printf("FIGURE mmu_update batched: %llu instructions per update, 1000 updates per call\n", t);
}

static uint64_t kernel_change(void)
{
	start();
	for (uint32_t i = 0; i < N; i++)
		umbra_map(tops[0], KBASE + 0x1000, 0x600000 + (i & 1) * UMBRA_PAGE, RWAD);
	return per_op(N);
}

static void bench_kernel_change(void)
{
	uint64_t one, many;

	(void)*(volatile uint32_t *)(KBASE + 0x1000);
	one = kernel_change();
	for (unsigned i = 1; i < SPACES; i++) {
		umbra_new_pgtable(tops[i]);
		(void)*(volatile uint32_t *)(KBASE + 0x1000);
	}
	umbra_new_pgtable(tops[0]);
	many = kernel_change();
	umbra_printf("FIGURE kernel mapping change: %llu instructions with 1 cached shadow, "
		     "%llu with %u\n", one, many, SPACES);
	/* The same work either way; allow a little noise from timer ticks. */
	umbra_check(many <= one + one / 10, "kernel mapping change costs the same with 32 shadows");
}

int guest_main(const struct umbra_boot_info *bi)
{
	mem = bi->mem_bytes;
	umbra_shared_init(KBASE, 0);
	umbra_set_stack(STACK_TOP, 2);
	umbra_pt_pool(POOL, POOL_END);
	tops[0] = umbra_pt_new_top();
	umbra_batch_begin();
	for (uint32_t va = UMBRA_PAGE; va < mem; va += UMBRA_PAGE)
		umbra_map(tops[0], va, va, RWAD);
	umbra_map(tops[0], KBASE + 0x1000, 0x600000, RWAD);
	umbra_batch_end();
	for (unsigned i = 1; i < SPACES; i++)
		tops[i] = new_space();
	umbra_new_pgtable(tops[0]);
	bench_fault();
	bench_switch();
	bench_set_pte();
	bench_mmu_update();
	bench_kernel_change();
	bench_range();
	bench_process_switch();
	bench_fork_munmap();
	return 0;
}
