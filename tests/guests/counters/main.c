/*
 * The shared page's counters, which a guest's benchmarks divide by: each
 * must count exactly what the hypervisor did for this guest.
 */
#include <umbra/kernel.h>
#include <umbra/paging.h>

#define N	100

static volatile struct umbra_shared *s = &umbra_shared;
static struct umbra_multicall mc[N];

void umbra_trap_handler(struct umbra_frame *f)
{
	f->eip += 2;	/* past the ud2 */
}

/* The counters now, read at once: printing a result is itself a hypercall. */
struct counts {
	uint64_t sw, hc, cr3, desc, refl, faults;
};

static struct counts now(void)
{
	return (struct counts){ s->world_switches, s->hypercalls, s->cr3_loads, s->desc_loads,
				s->reflected, s->shadow_faults };
}

int guest_main(const struct umbra_boot_info *bi)
{
	struct counts a, b;

	umbra_shared_init(0, 0);
	umbra_set_trap(6, (void (*)(void))umbra_trap_stub(6), UMBRA_GATE_INTR, 1);
	a = now();
	for (unsigned i = 0; i < N; i++)
		umbra_hcall(UMBRA_HC_IRQ_ENABLE, 0, 0, 0, 0);
	b = now();
	/* Timer ticks may add world switches, never hypercalls. */
	umbra_check(b.sw - a.sw >= N, "counters: one world switch per hypercall");
	umbra_check(b.hc - a.hc == N, "counters: hypercalls counts each call");
	for (unsigned i = 0; i < N; i++)
		mc[i] = (struct umbra_multicall){ UMBRA_HC_IRQ_ENABLE, { 0, 0, 0, 0 }, 0 };
	a = now();
	umbra_multicall(mc, N);
	b = now();
	umbra_check(b.hc - a.hc == N + 1, "counters: hypercalls counts every batched call");
	/* Two CR3 loads a world switch; the descriptor tables stay loaded across switches. */
	umbra_check(b.cr3 - a.cr3 == 2 * (b.sw - a.sw) && b.desc == a.desc && b.sw - a.sw >= 1,
		    "counters: CR3 and descriptor-table loads per world switch");
	a = now();
	__asm__ volatile("ud2");
	b = now();
	umbra_check(b.refl - a.refl == 1, "counters: a reflected exception is counted");
	umbra_check(b.faults > 0, "counters: shadow faults are counted");
	return 0;
}
