/*
 * The simulated guest kernel and the shadow checker (see shadow_sim.h).
 *
 * The guest this file plays keeps its page tables the way the ABI asks
 * (guest-abi/include/umbra/hypercall.h): every table lives in its own guest
 * memory, in the build's paging format; each process has its own top level
 * and its own tables below the kernel address; the kernel's tables are the
 * same in every top level (shared leaf tables, and with PAE shared
 * directories for every gigabyte that is all kernel). It changes an entry
 * either by announcing it (SET_PTE, SET_PMD, SET_PGD) or silently, by
 * writing memory only.
 *
 * A silent change is like a change a real CPU has not yet noticed: until a
 * flush that covers it, the shadow may keep the old translation, as a TLB
 * would. So the model keeps, per top level, the addresses changed silently
 * since the last covering flush ("dirty"), and the checker leaves those out.
 * Everything else must agree exactly with the guest's tables, read from
 * guest memory at check time: the guest's memory is the model.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shadow_sim.h"
#include "mm/frame.h"
#include "mm/phys.h"
#include "mm/pt.h"

#define F		(&pt_native)
#define PAE		(F->levels == 3)
#define LEVELS		((unsigned)F->levels)
#define LEAF		(LEVELS - 1u)
#define DIR		(LEVELS - 2u)
#define SW_BASE		(F->switcher_base)
#define DIR_SHIFT	(F->level[DIR].shift)
#define DIR_SPAN	((u32)pt_span(F, DIR))
#define DIR_SLOTS	(1u << (32 - DIR_SHIFT))
#define LEAF_ENTRIES	((unsigned)F->level[LEAF].entries)
#define GIB		(1ull << 30)
#define LINEAR_CR3	((gpa_t)-2)
#define GPA_NONE	((gpa_t)-1)

#define P	PTE_P
#define W	PTE_W
#define U	PTE_U
#define A	PTE_A
#define D	PTE_D

/* What the shadow may hold in a leaf entry, and the linear mapping's flags. */
#define SPTE_FLAGS	(P | W | U | A | D | PTE_PWT | PTE_PCD)
#define LINEAR_FLAGS	(P | W | U | A | D)

#define RAM_BYTES	MiB(64)
#define MAX_TOPS	12
#define TRACE_LINES	16

const char *const sim_check_names[CK_COUNT] = {
	[CK_AGREE] = "every present shadow entry agrees with the guest's tables",
	[CK_FAULT] = "faults and translations: FIXED allows the access, GUEST only when the guest forbids it",
	[CK_AD] = "accessed and dirty bits: A before a shadow entry, D before a writable one",
	[CK_CALLS] = "page-table calls in valid use succeed and never kill the guest",
	[CK_STRUCT] = "shadow structure, reference counts and frame counts",
	[CK_STACK] = "the kernel stack stays mapped writable in the current shadow",
	[CK_LEAK] = "no frame leaks after guest_destroy",
	[CK_HOSTILE] = "hostile entries and arguments kill the guest cleanly",
};

struct sim_totals sim_totals;
bool sim_abort_on_failure;
void (*sim_before_abort)(enum sim_check k);

/* ---- the machine: RAM, frames, the Switcher's table, console ----------- */

static struct frame *frame_table;
static mfn_t sw_pt;
static u8 sw_image[PAGE_SIZE];
static char last_msg[512];

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
}

const char *sim_last_message(void)
{
	return last_msg;
}

mfn_t switcher_guest_pt(void)
{
	return sw_pt;
}

mfn_t sim_switcher_pt(void)
{
	return sw_pt;
}

bool sim_switcher_intact(void)
{
	return !memcmp(mfn_to_virt(sw_pt), sw_image, PAGE_SIZE);
}

void sim_machine_init(void)
{
	void *sw;

	if (hosted_ram)
		return;
	hosted_ram = aligned_alloc(PAGE_SIZE, RAM_BYTES);
	frame_table = calloc(RAM_BYTES >> PAGE_SHIFT, sizeof(*frame_table));
	if (!hosted_ram || !frame_table) {
		fprintf(stderr, "shadow_sim: out of host memory\n");
		exit(2);
	}
	memset(hosted_ram, 0, RAM_BYTES);
	frame_init(frame_table, RAM_BYTES >> PAGE_SHIFT);
	frame_add_ram(MiB(1), RAM_BYTES);
	frame_seal();

	/* The guests' view of the Switcher: code and read-only page, register page writable. */
	sw_pt = frame_alloc_zeroed(FRAME_SWITCHER, NO_GUEST);
	sw = mfn_to_virt(sw_pt);
	pte_set(F, sw, 0, (0x100ull << PAGE_SHIFT) | P | A);
	pte_set(F, sw, 1, (0x101ull << PAGE_SHIFT) | P | W | A | D);
	pte_set(F, sw, 2, (0x102ull << PAGE_SHIFT) | P | A);
	memcpy(sw_image, sw, PAGE_SIZE);
}

/* ---- random decisions: a seeded generator or a fuzzer's bytes ----------- */

static struct {
	u64 state;
	const u8 *data;
	size_t len, pos;
	bool out;		/* the fuzzer's bytes ran out */
} src;

static u32 next32(void)
{
	u64 z;

	if (src.data) {
		u32 v = 0;

		for (int i = 0; i < 4; i++) {
			if (src.pos >= src.len) {
				src.out = true;
				break;
			}
			v = v << 8 | src.data[src.pos++];
		}
		return v;
	}
	z = (src.state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (u32)((z ^ (z >> 31)) >> 16);
}

/* A number in [0, n); a fuzzer's input pays one byte for a small n. */
static u32 pick(u32 n)
{
	if (n <= 1)
		return 0;
	if (src.data && n <= 256) {
		if (src.pos >= src.len) {
			src.out = true;
			return 0;
		}
		return src.data[src.pos++] % n;
	}
	return next32() % n;
}

static bool coin(unsigned percent)
{
	return pick(100) < percent;
}

static u64 next64(void)
{
	u64 hi = next32();

	return hi << 32 | next32();
}

/* ---- failures and the trace --------------------------------------------- */

static u64 run_seed, run_step;
static bool run_failed, tracing, stop_run;
static char trace_ring[TRACE_LINES][200];
static unsigned trace_next;

__attribute__((format(printf, 1, 2)))
static void note(const char *fmt, ...)
{
	char *line = trace_ring[trace_next++ % TRACE_LINES];
	int n = snprintf(line, sizeof(trace_ring[0]), "step %llu: ", (unsigned long long)run_step);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(trace_ring[0]) - n, fmt, ap);
	va_end(ap);
	if (tracing)
		printf("    %s\n", line);
}

__attribute__((format(printf, 2, 3)))
static void fail(enum sim_check k, const char *fmt, ...)
{
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	run_failed = true;
	if (sim_totals.fails[k]++ == 0 || sim_abort_on_failure) {
		char *t = sim_totals.trace[k];
		size_t used = 0, size = sizeof(sim_totals.trace[k]);
		unsigned n = MIN(trace_next, TRACE_LINES);

		if (src.data)
			snprintf(sim_totals.first[k], sizeof(sim_totals.first[k]), "fuzz input, step %llu: %s",
				 (unsigned long long)run_step, msg);
		else
			snprintf(sim_totals.first[k], sizeof(sim_totals.first[k]), "seed %llu step %llu: %s",
				 (unsigned long long)run_seed, (unsigned long long)run_step, msg);
		t[0] = '\0';
		for (unsigned i = 0; i < n && used < size; i++)
			used += snprintf(t + used, size - used, "    %s\n",
					 trace_ring[(trace_next - n + i) % TRACE_LINES]);
	}
	if (sim_abort_on_failure) {
		if (sim_before_abort)
			sim_before_abort(k);
		fprintf(stderr, "shadow check failed (%s): %s\nlast operations:\n%s",
			sim_check_names[k], sim_totals.first[k], sim_totals.trace[k]);
		abort();
	}
}

/* ---- the guest and its memory ------------------------------------------- */

static struct guest *g;
static pfn_t nr_pfns;
static mfn_t *p2m;		/* the guest's frame map, read once at creation */
static u32 *rev;		/* machine frame -> guest frame + 1, or 0 */
static u32 free_before;

static void *gptr(gpa_t a)
{
	if ((a >> PAGE_SHIFT) >= nr_pfns) {
		fprintf(stderr, "shadow_sim: model bug: gpa 0x%x beyond guest memory\n", a);
		abort();
	}
	return (u8 *)mfn_to_virt(p2m[a >> PAGE_SHIFT]) + (a & ~PAGE_MASK);
}

pte_t sim_gget(gpa_t a)
{
	void *p = gptr(a);

	return F->entry_bytes == 8 ? *(u64 *)p : *(u32 *)p;
}

void sim_gset(gpa_t a, pte_t v)
{
	void *p = gptr(a);

	if (F->entry_bytes == 8)
		*(u64 *)p = v;
	else
		*(u32 *)p = (u32)v;
}

#define gget sim_gget
#define gset sim_gset

static bool alive(void)
{
	return g->state == GUEST_RUNNABLE;
}

/*
 * Memory pressure: all but a few free frames taken away, so that shadow
 * tables run out. The guest may then die for want of frames, which is no
 * failure; it must die cleanly, and give every frame back.
 */
static mfn_t *hog;
static unsigned nhog;
static bool pressure;

void sim_hog_frames(u32 leave)
{
	if (!hog)
		hog = calloc(RAM_BYTES >> PAGE_SHIFT, sizeof(*hog));
	while (frame_count(FRAME_FREE) > leave)
		hog[nhog++] = frame_alloc(FRAME_HYPERVISOR, NO_GUEST);
}

void sim_unhog_frames(void)
{
	while (nhog)
		frame_put(hog[--nhog]);
}

static bool starved(void)
{
	return pressure && !alive() && strstr(g->reason, "out of memory");
}

/*
 * The entry rules, written out from the ABI rather than taken from
 * paging.h: PAE's top level takes P, PWT, PCD and the software bits; other
 * table levels add W, U and A; leaves add D and G. No large pages.
 */
static pte_t addr_mask(void)
{
	return PAE ? 0x000ffffffffff000ull : 0xfffff000ull;
}

static pte_t allowed(unsigned level)
{
	if (PAE && level == 0)
		return P | PTE_PWT | PTE_PCD | PTE_AVAIL;
	if (level == LEAF)
		return P | W | U | PTE_PWT | PTE_PCD | A | D | PTE_G | PTE_AVAIL;
	return P | W | U | PTE_PWT | PTE_PCD | A | PTE_AVAIL;
}

static bool entry_ok(unsigned level, pte_t e)
{
	return !(e & ~(allowed(level) | addr_mask())) && ((e & addr_mask()) >> PAGE_SHIFT) < nr_pfns;
}

struct walk {
	gpa_t at[PT_MAX_LEVELS];
	pte_t e[PT_MAX_LEVELS];
	bool w, u;
};

/* Levels present from the top (LEVELS: a translation), or -1 for a bad entry. */
static int walk(gpa_t cr3, gva_t va, struct walk *w)
{
	gpa_t table = cr3;

	w->w = w->u = true;
	for (unsigned l = 0; l < LEVELS; l++) {
		w->at[l] = table + pt_index(F, l, va) * F->entry_bytes;
		w->e[l] = gget(w->at[l]);
		if (!(w->e[l] & P))
			return (int)l;
		if (!entry_ok(l, w->e[l]))
			return -1;
		if (!PAE || l > 0) {
			w->w &= !!(w->e[l] & W);
			w->u &= !!(w->e[l] & U);
		}
		table = pte_addr(F, w->e[l]);
	}
	return (int)LEVELS;
}

/* ---- guest frames for page tables --------------------------------------- */

static pfn_t *pool;
static u8 *in_pool;
static unsigned npool;

gpa_t sim_table_alloc(void)
{
	pfn_t pfn;

	if (!npool)
		return GPA_NONE;
	pfn = pool[--npool];
	in_pool[pfn] = 0;
	memset(gptr(pfn << PAGE_SHIFT), 0, PAGE_SIZE);
	return pfn << PAGE_SHIFT;
}

static void table_free(gpa_t a)
{
	pfn_t pfn = a >> PAGE_SHIFT;

	if (in_pool[pfn]) {
		fprintf(stderr, "shadow_sim: model bug: table 0x%x freed twice\n", a);
		abort();
	}
	in_pool[pfn] = 1;
	pool[npool++] = pfn;
}

/* ---- the model: top levels, kernel tables, stale addresses -------------- */

/* Guest pages whose translation may be stale in one shadow, one bit each. */
struct dmap {
	bool any, full;
	u64 bits[(1u << 20) / 64];
};

static unsigned ntops, max_tops;
static gpa_t tops[MAX_TOPS];
static struct dmap *dmaps[MAX_TOPS], *kdirty;
static int cur;			/* index in tops, -1 while linear */
static u32 kbase, user_end;
static pte_t kpde[2048];	/* the kernel's directory entries, by slot */
static gpa_t kpmd[4];		/* PAE: the shared directory of an all-kernel GiB */
static u32 hot[16];		/* directory slots the sequences work in */
static unsigned nhot_user, nhot;
static u32 stack_lo, stack_hi;	/* the pinned kernel stack, if any */

static bool dm_test(const struct dmap *d, gva_t va)
{
	u32 p = va >> PAGE_SHIFT;

	return d->full || (d->any && (d->bits[p / 64] >> (p % 64) & 1));
}

static void dm_range(struct dmap *d, u64 start, u64 end, bool set)
{
	u64 p = start >> PAGE_SHIFT, e = (end + PAGE_SIZE - 1) >> PAGE_SHIFT;

	if (!set && !d->any && !d->full)
		return;
	if (d->full) {
		if (set)
			return;
		memset(d->bits, 0xff, sizeof(d->bits));
		d->full = false;
	}
	d->any = true;
	while (p < e) {
		if (p % 64 == 0 && p + 64 <= e) {
			d->bits[p / 64] = set ? ~0ull : 0;
			p += 64;
		} else {
			if (set)
				d->bits[p / 64] |= 1ull << (p % 64);
			else
				d->bits[p / 64] &= ~(1ull << (p % 64));
			p++;
		}
	}
}

static void dm_all(struct dmap *d, bool set)
{
	if (set) {
		d->full = true;
		return;
	}
	if (d->any)
		memset(d->bits, 0, sizeof(d->bits));
	d->any = d->full = false;
}

static bool kernel_va(u64 va)
{
	return kbase && va >= kbase;
}

/* Mark or clear [start, end) as possibly stale in top t (kernel part: in all). */
static void dirty(int t, u64 start, u64 end, bool set)
{
	u64 split = kbase ? MAX(start, MIN(end, (u64)kbase)) : end;

	if (start < split && t >= 0) {
		if (!set && start == 0 && split >= user_end)
			dm_all(dmaps[t], false);
		else
			dm_range(dmaps[t], start, split, set);
	}
	if (split < end)
		dm_range(kdirty, split, end, set);
}

static bool is_dirty(int t, gva_t va)
{
	return kernel_va(va) ? dm_test(kdirty, va) : dm_test(dmaps[t], va);
}

static bool in_stack(u64 va)
{
	return stack_hi && va >= stack_lo && va < stack_hi;
}

static bool stack_slot(u64 va)
{
	return stack_hi && (va >> DIR_SHIFT) >= (stack_lo >> DIR_SHIFT) &&
	       (va >> DIR_SHIFT) <= ((stack_hi - 1) >> DIR_SHIFT);
}

static int model_top(gpa_t cr3)
{
	for (unsigned i = 0; i < ntops; i++)
		if (tops[i] == cr3)
			return (int)i;
	return -1;
}

static struct shadow_top *cached(gpa_t cr3)
{
	for (unsigned i = 0; i < g->shadow.ntops; i++)
		if (g->shadow.tops[i].cr3 == cr3)
			return &g->shadow.tops[i];
	return NULL;
}

/* A top level thrown out of the cache comes back empty: nothing stale. */
static void forget_evicted(void)
{
	for (unsigned i = 0; i < ntops; i++)
		if (!cached(tops[i]))
			dm_all(dmaps[i], false);
}

/* The gigabyte of a PAE top-level entry: all user, all kernel, or both. */
static bool gib_all_user(unsigned i0)
{
	return !kbase || ((u64)i0 + 1) * GIB <= kbase;
}

static bool gib_all_kernel(unsigned i0)
{
	return kbase && (u64)i0 * GIB >= kbase;
}

/* Where top cr3's directory entry for va is (GPA_NONE: PAE entry missing). */
static gpa_t dir_entry_at(gpa_t cr3, gva_t va)
{
	pte_t p;

	if (!PAE)
		return cr3 + pt_index(F, 0, va) * 4;
	p = gget(cr3 + pt_index(F, 0, va) * 8);
	if (!(p & P))
		return GPA_NONE;
	return pte_addr(F, p) + pt_index(F, 1, va) * 8;
}

static gpa_t leaf_entry_at(gpa_t cr3, gva_t va)
{
	gpa_t d = dir_entry_at(cr3, va);
	pte_t e;

	if (d == GPA_NONE || !((e = gget(d)) & P))
		return GPA_NONE;
	return pte_addr(F, e) + pt_index(F, LEAF, va) * F->entry_bytes;
}

/* ---- the shadow, read the way the CPU reads it -------------------------- */

static pte_t sget(mfn_t table, unsigned i)
{
	return pte_get(F, mfn_to_virt(table), i);
}

static pte_t shadow_entry_in(const struct shadow_top *t, gva_t va)
{
	mfn_t table = t->top;

	for (unsigned l = 0; l < LEAF; l++) {
		pte_t e = sget(table, pt_index(F, l, va));

		if (!(e & P))
			return 0;
		table = pte_mfn(F, e);
	}
	return sget(table, pt_index(F, LEAF, va));
}

pte_t sim_shadow_entry(gva_t va)
{
	return shadow_entry_in(g->shadow.cur, va);
}

/* ---- the checker -------------------------------------------------------- */

static mfn_t klist(u32 slot)
{
	const mfn_t *list = mfn_to_virt(g->shadow.kernel_pts[slot / P2M_PER_PAGE]);

	return list[slot % P2M_PER_PAGE];
}

static bool check_frame(mfn_t m, unsigned refs, const char *what, u32 va)
{
	const struct frame *f = frame_info(m);

	if (!f) {
		fail(CK_STRUCT, "%s for 0x%x: frame 0x%x outside RAM", what, va, m);
		return false;
	}
	if (f->owner != FRAME_SHADOW || f->guest != g->id) {
		fail(CK_STRUCT, "%s for 0x%x: frame 0x%x owned by %s (guest %u), not shadow of guest %u",
		     what, va, m, frame_owner_name(f->owner), f->guest, g->id);
		return false;
	}
	if (refs && f->refs != refs) {
		fail(CK_STRUCT, "%s for 0x%x: frame 0x%x has %u references, expected %u",
		     what, va, m, f->refs, refs);
		return false;
	}
	return true;
}

/*
 * One present-or-not shadow leaf entry for va in the top level the model
 * knows as mi (-1: one the guest no longer uses), against the guest's
 * tables: same frame, W only if writable at every level and dirty, U only if
 * user at every level, and never before the guest's entry says accessed.
 */
static void check_spte(bool linear, int mi, gva_t va, pte_t s)
{
	pte_t flags = s & ~addr_mask();
	mfn_t m = pte_mfn(F, s);
	pfn_t pfn;
	struct walk w;
	pte_t leaf;
	int r;

	if (!s)
		return;
	if (!(s & P) || (flags & ~SPTE_FLAGS)) {
		fail(CK_STRUCT, "shadow entry 0x%llx for 0x%x has unexpected bits", (unsigned long long)s, va);
		return;
	}
	if (m >= RAM_BYTES >> PAGE_SHIFT || !rev[m]) {
		fail(CK_AGREE, "shadow entry 0x%llx for 0x%x maps machine frame 0x%x, not guest memory",
		     (unsigned long long)s, va, m);
		return;
	}
	pfn = rev[m] - 1;
	if (linear) {
		if (va < PAGE_SIZE || va >= g->mem_bytes || pfn != va >> PAGE_SHIFT || flags != LINEAR_FLAGS)
			fail(CK_AGREE, "linear shadow entry 0x%llx for 0x%x (guest frame 0x%x, memory 0x%x)",
			     (unsigned long long)s, va, pfn, g->mem_bytes);
		return;
	}
	if (mi < 0)
		return;		/* a retired top level: may be stale, never walked */
	if (is_dirty(mi, va)) {
		sim_totals.stale_skipped++;
		return;
	}
	r = walk(tops[mi], va, &w);
	if (r != (int)LEVELS) {
		fail(CK_AGREE, "shadow of top 0x%x maps 0x%x to guest frame 0x%x (entry 0x%llx) but the guest's level %d entry 0x%llx %s",
		     tops[mi], va, pfn, (unsigned long long)s, r < 0 ? -1 : r,
		     (unsigned long long)(r < 0 ? 0 : w.e[r]), r < 0 ? "is bad" : "is not present");
		return;
	}
	leaf = w.e[LEAF];
	if ((pte_addr(F, leaf) >> PAGE_SHIFT) != pfn)
		fail(CK_AGREE, "shadow of top 0x%x maps 0x%x to guest frame 0x%x, the guest to 0x%llx (leaf 0x%llx)",
		     tops[mi], va, pfn, (unsigned long long)(pte_addr(F, leaf) >> PAGE_SHIFT),
		     (unsigned long long)leaf);
	else if ((s & W) && !w.w)
		fail(CK_AGREE, "shadow of top 0x%x lets 0x%x be written (entry 0x%llx); the guest's tables say read-only (leaf 0x%llx)",
		     tops[mi], va, (unsigned long long)s, (unsigned long long)leaf);
	else if ((s & U) && !w.u)
		fail(CK_AGREE, "shadow of top 0x%x lets user mode reach 0x%x (entry 0x%llx); the guest's tables say supervisor (leaf 0x%llx)",
		     tops[mi], va, (unsigned long long)s, (unsigned long long)leaf);
	else if ((s ^ leaf) & (PTE_PWT | PTE_PCD))
		fail(CK_AGREE, "shadow entry 0x%llx for 0x%x has other cache bits than the guest's 0x%llx",
		     (unsigned long long)s, va, (unsigned long long)leaf);
	if ((s & W) && !(leaf & D))
		fail(CK_AD, "shadow of top 0x%x has 0x%x writable (entry 0x%llx) while the guest's entry 0x%llx is clean",
		     tops[mi], va, (unsigned long long)s, (unsigned long long)leaf);
	if (!(leaf & A))
		fail(CK_AD, "shadow of top 0x%x maps 0x%x (entry 0x%llx) while the guest's entry 0x%llx is not accessed",
		     tops[mi], va, (unsigned long long)s, (unsigned long long)leaf);
}

static void scan_leaf(mfn_t leaf, u32 base, bool linear, int mi, bool agree)
{
	for (unsigned j = 0; j < LEAF_ENTRIES; j++) {
		pte_t s = sget(leaf, j);

		if (s && agree)
			check_spte(linear, mi, base + j * PAGE_SIZE, s);
		else if (s && (!(s & P) || ((s & ~addr_mask()) & ~SPTE_FLAGS)))
			fail(CK_STRUCT, "shadow entry 0x%llx for 0x%x has unexpected bits",
			     (unsigned long long)s, base + j * PAGE_SIZE);
	}
}

/*
 * Walk every cached shadow top level and the shared kernel leaf tables.
 * With `agree`, every present entry is checked against the guest's tables;
 * always, the structure: each table owned by this guest's shadow, with one
 * reference per link, the Switcher's table linked at its slot and nothing
 * else above SWITCHER_BASE, and the frame count matching what is linked.
 */
static void check_all(bool agree)
{
	struct shadow *sh = &g->shadow;
	unsigned ncached = 0;
	u32 frames = 0;

	sim_totals.checks++;
	for (unsigned i = 0; i < ARRAY_SIZE(sh->kernel_pts); i++)
		if (check_frame(sh->kernel_pts[i], 1, "kernel table list", 0))
			frames++;
	for (unsigned i = sh->ntops; i < SHADOW_MAX; i++)
		if (sh->tops[i].cr3 != NO_TABLE)
			fail(CK_STRUCT, "cache slot %u beyond the cache size %u is in use", i, sh->ntops);
	if (agree && !sh->linear && (cur < 0 || sh->cur->cr3 != tops[cur]))
		fail(CK_STRUCT, "the current shadow shadows 0x%x, the guest runs on 0x%x",
		     sh->cur->cr3, cur < 0 ? 0 : tops[cur]);

	for (unsigned ti = 0; ti < sh->ntops; ti++) {
		struct shadow_top *t = &sh->tops[ti];
		bool linear = t->cr3 == LINEAR_CR3;
		int mi;

		if (t->cr3 == NO_TABLE)
			continue;
		ncached++;
		for (unsigned tj = 0; tj < ti; tj++)
			if (sh->tops[tj].cr3 == t->cr3)
				fail(CK_STRUCT, "top level 0x%x cached twice", t->cr3);
		if (linear != sh->linear || (linear && t != sh->cur))
			fail(CK_STRUCT, "linear top level in slot %u while linear is %d", ti, sh->linear);
		if (!check_frame(t->top, 1, "top level", 0))
			continue;
		frames++;
		mi = linear ? -1 : model_top(t->cr3);
		for (unsigned d = 0; d < (PAE ? 4u : 1u); d++) {
			mfn_t dir = t->top;
			unsigned n = F->level[DIR].entries;

			if (PAE) {
				pte_t e = sget(t->top, d);

				if ((e & ~addr_mask()) != P) {
					fail(CK_STRUCT, "PAE top-level entry %u of shadow 0x%x is 0x%llx",
					     d, t->cr3, (unsigned long long)e);
					continue;
				}
				dir = pte_mfn(F, e);
				if (!check_frame(dir, 1, "PAE directory", d << 30))
					continue;
				frames++;
			}
			for (unsigned i = 0; i < n; i++) {
				u32 slot = d * n + i;
				u32 va = slot << DIR_SHIFT;
				pte_t e = sget(dir, i);

				if (va >= SW_BASE) {
					if (e != (((pte_t)sw_pt << PAGE_SHIFT) | pt_link_flags(F, DIR)))
						fail(CK_STRUCT, "shadow 0x%x: Switcher slot holds 0x%llx, not the Switcher's table 0x%x",
						     t->cr3, (unsigned long long)e, sw_pt);
					continue;
				}
				if (!linear && kernel_va(va)) {
					mfn_t kp = klist(slot);
					pte_t want = kp ? ((pte_t)kp << PAGE_SHIFT) | pt_link_flags(F, DIR) : 0;

					if (e != want)
						fail(CK_STRUCT, "shadow 0x%x: kernel slot 0x%x holds 0x%llx, expected 0x%llx",
						     t->cr3, va, (unsigned long long)e, (unsigned long long)want);
					continue;
				}
				if (!e)
					continue;
				if ((e & ~addr_mask()) != pt_link_flags(F, DIR)) {
					fail(CK_STRUCT, "shadow 0x%x: directory entry for 0x%x is 0x%llx",
					     t->cr3, va, (unsigned long long)e);
					continue;
				}
				if (!check_frame(pte_mfn(F, e), 1, "leaf table", va))
					continue;
				frames++;
				scan_leaf(pte_mfn(F, e), va, linear, mi, agree);
			}
		}
	}

	for (u32 slot = 0; slot < DIR_SLOTS; slot++) {
		mfn_t kp = klist(slot);

		if (!kp)
			continue;
		if (sh->linear || !kernel_va((u64)slot << DIR_SHIFT) || ((u64)slot << DIR_SHIFT) >= SW_BASE) {
			fail(CK_STRUCT, "kernel leaf table listed for non-kernel slot 0x%x",
			     slot << DIR_SHIFT);
			continue;
		}
		if (!check_frame(kp, 1 + ncached, "kernel leaf table", slot << DIR_SHIFT))
			continue;
		frames++;
		scan_leaf(kp, slot << DIR_SHIFT, false, cur, agree && cur >= 0);
	}

	if (frame_count(FRAME_SHADOW) != frames)
		fail(CK_STRUCT, "%u frames owned by the shadow, %u linked", frame_count(FRAME_SHADOW), frames);
	if (frame_info(sw_pt)->refs != 1 + ncached)
		fail(CK_STRUCT, "the Switcher's table has %u references, %u top levels link it",
		     frame_info(sw_pt)->refs, ncached);
	if (!sim_switcher_intact())
		fail(CK_STRUCT, "the Switcher's page table was written");

	if (agree && g->ss1 && !sh->linear)
		for (u32 va = g->esp1 - g->stack_pages * PAGE_SIZE; va < g->esp1; va += PAGE_SIZE) {
			pte_t s = sim_shadow_entry(va);

			if ((s & (P | W)) != (P | W))
				fail(CK_STACK, "kernel stack page 0x%x has shadow entry 0x%llx in top 0x%x",
				     va, (unsigned long long)s, sh->cur->cr3);
		}
}

/* ---- choosing addresses and values -------------------------------------- */

static void add_hot(u64 va, bool user)
{
	u32 slot_va;

	if (va >= SW_BASE || (user ? va >= user_end : va < user_end))
		return;
	slot_va = (u32)va & ~(DIR_SPAN - 1);
	for (unsigned i = 0; i < nhot; i++)
		if (hot[i] == slot_va)
			return;
	if (nhot < ARRAY_SIZE(hot))
		hot[nhot++] = slot_va;
}

static void choose_hot(void)
{
	nhot = 0;
	add_hot(0, true);
	add_hot(DIR_SPAN, true);
	add_hot(0x08000000, true);
	add_hot(GIB - DIR_SPAN, true);
	add_hot(GIB, true);
	add_hot(user_end - DIR_SPAN, true);
	nhot_user = nhot;
	add_hot(kbase, false);
	add_hot((u64)kbase + DIR_SPAN, false);
	add_hot(3 * GIB - DIR_SPAN, false);
	add_hot(3 * GIB, false);
	add_hot(SW_BASE - DIR_SPAN, false);
}

static u32 hot_slot(bool kernel)
{
	if (kernel && nhot > nhot_user)
		return hot[nhot_user + pick(nhot - nhot_user)];
	return hot[pick(nhot_user)];
}

/* An address in a hot slot, on one of the pages where interesting things happen. */
static gva_t va_in(u32 slot)
{
	static const unsigned pages[] = { 0, 1, 2, 15, 16, 17, 31, 32, 100 };
	unsigned n = LEAF_ENTRIES, r = pick(14), page;

	if (r < ARRAY_SIZE(pages))
		page = pages[r];
	else if (r < ARRAY_SIZE(pages) + 2)
		page = n - 1 - pick(2);
	else
		page = pick(n);
	return slot + page * PAGE_SIZE + (coin(20) ? pick(PAGE_SIZE) : 0);
}

static gva_t hot_va(bool kernel)
{
	return va_in(hot_slot(kernel));
}

static bool want_kernel(void)
{
	return nhot > nhot_user && coin(35);
}

static pfn_t any_frame(void)
{
	unsigned r = pick(10);

	if (r == 0)
		return nr_pfns - 1;
	if (r == 1)
		return pick(4);
	return pick(nr_pfns);
}

static pte_t not_present(void)
{
	pte_t v = coin(50) ? 0 : next64();

	if (!PAE)
		v &= 0xffffffffull;
	return v & ~P;
}

static pte_t leaf_value(gva_t va)
{
	bool stack = in_stack(va & PAGE_MASK);
	pte_t v;

	if (!stack && coin(20))
		return not_present();
	v = ((pte_t)any_frame() << PAGE_SHIFT) | P;
	v |= (stack || coin(55)) ? W : 0;
	v |= coin(50) ? U : 0;
	v |= coin(60) ? A : 0;
	v |= coin(50) ? D : 0;
	v |= coin(5) ? PTE_PWT : 0;
	v |= coin(5) ? PTE_PCD : 0;
	v |= coin(10) ? PTE_G : 0;
	v |= coin(10) ? (pte_t)pick(8) << 9 : 0;
	return v;
}

static pte_t table_flags(bool stack)
{
	pte_t v = P;

	v |= (stack || coin(85)) ? W : 0;
	v |= coin(75) ? U : 0;
	v |= coin(85) ? A : 0;
	v |= coin(3) ? PTE_PWT : 0;
	v |= coin(3) ? PTE_PCD : 0;
	v |= coin(10) ? (pte_t)pick(8) << 9 : 0;
	return v;
}

static pte_t pdpte_flags(void)
{
	return P | (coin(5) ? PTE_PWT : 0) | (coin(5) ? PTE_PCD : 0) | (coin(10) ? (pte_t)pick(8) << 9 : 0);
}

/* ---- the calls, checked ------------------------------------------------- */

/*
 * The value an announced entry must hold afterwards: the one announced,
 * except that re-pinning the kernel stack may have walked through it and
 * set A (and D on a leaf), as the CPU would.
 */
static bool stored(gpa_t at, pte_t v)
{
	pte_t e = gget(at);

	return e == v || ((v & P) && (e & ~(A | D)) == (v & ~(A | D)));
}

/*
 * Addresses mapped lately, per top level (kernel ones in one list): most
 * accesses go there, so that most faults are fixed rather than reflected.
 */
#define RECENT	16
static gva_t recent[MAX_TOPS + 1][RECENT];
static unsigned nrecent[MAX_TOPS + 1];

static void remember(int t, gva_t va)
{
	unsigned i = kernel_va(va) ? MAX_TOPS : (unsigned)t;

	recent[i][nrecent[i]++ % RECENT] = va;
}

static bool recent_va(gva_t *va)
{
	unsigned i = cur >= 0 && (!nrecent[MAX_TOPS] || coin(60)) ? (unsigned)cur : MAX_TOPS;

	if (!nrecent[i])
		return false;
	*va = (recent[i][pick(MIN(nrecent[i], RECENT))] & PAGE_MASK) | pick(PAGE_SIZE);
	return true;
}

static bool call_ok(s32 r, const char *what)
{
	if (r == 0 && alive())
		return true;
	if (starved())
		return false;
	fail(CK_CALLS, "%s returned %d%s%s", what, r, alive() ? "" : "; guest killed: ",
	     alive() ? "" : g->reason);
	return false;
}

static bool announce_leaf(int t, gva_t va, gpa_t at, pte_t v)
{
	char what[96];

	if (coin(50))
		gset(at, v);	/* the guest writes the entry, then tells */
	sim_totals.set_calls++;
	snprintf(what, sizeof(what), "set_pte(0x%x, 0x%x, 0x%llx)", tops[t], va, (unsigned long long)v);
	if (!call_ok(shadow_set_entry(g, LEAF, tops[t], va, v), what))
		return false;
	if (!stored(at, v))
		fail(CK_CALLS, "%s left 0x%llx in the guest's table", what, (unsigned long long)gget(at));
	if (cur >= 0)
		dirty(t, va & PAGE_MASK, (va & PAGE_MASK) + PAGE_SIZE, false);
	if (v & P)
		remember(t, va);
	return true;
}

/* A directory entry of top t (SET_PGD with 2-level paging, SET_PMD with PAE). */
static bool announce_dir(int t, gva_t va, gpa_t at, pte_t v)
{
	char what[96];
	s32 r;

	if (coin(50))
		gset(at, v);
	sim_totals.set_calls++;
	if (PAE) {
		snprintf(what, sizeof(what), "set_pmd(0x%x, 0x%x, 0x%llx)", tops[t], va, (unsigned long long)v);
		r = shadow_set_entry(g, DIR, tops[t], va, v);
	} else {
		snprintf(what, sizeof(what), "set_pgd(0x%x, %u, 0x%llx)", tops[t], va >> DIR_SHIFT,
			 (unsigned long long)v);
		r = shadow_set_pgd(g, tops[t], va >> DIR_SHIFT, v);
	}
	if (!call_ok(r, what))
		return false;
	if (!stored(at, v))
		fail(CK_CALLS, "%s left 0x%llx in the guest's table", what, (unsigned long long)gget(at));
	if (cur >= 0) {
		u32 base = va & ~(DIR_SPAN - 1);

		dirty(t, base, (u64)base + DIR_SPAN, false);
	}
	return true;
}

static bool announce_pdpte(int t, unsigned i0, pte_t v)
{
	char what[96];

	if (coin(50))
		gset(tops[t] + i0 * 8, v);
	sim_totals.set_calls++;
	snprintf(what, sizeof(what), "set_pgd(0x%x, %u, 0x%llx)", tops[t], i0, (unsigned long long)v);
	if (!call_ok(shadow_set_pgd(g, tops[t], i0, v), what))
		return false;
	if (cur >= 0)
		dirty(t, i0 * GIB, (i0 + 1) * GIB, false);
	return true;
}

/* ---- top levels ----------------------------------------------------------- */

/* A new process: a fresh top level holding the kernel's entries. */
static int top_new(void)
{
	gpa_t page, cr3;
	int t;

	if (ntops >= max_tops || (page = sim_table_alloc()) == GPA_NONE)
		return -1;
	cr3 = page + (PAE ? 32 * pick(PAGE_SIZE / 32) : 0);
	for (u32 slot = kbase >> DIR_SHIFT; kbase && slot < (SW_BASE >> DIR_SHIFT); slot++) {
		if (!PAE) {
			gset(cr3 + slot * 4, kpde[slot]);
			continue;
		}
		if (gib_all_kernel(slot >> 9)) {
			gset(cr3 + (slot >> 9) * 8, kpmd[slot >> 9] | P);
			continue;
		}
		if (!(gget(cr3 + (slot >> 9) * 8) & P)) {
			gpa_t pmd = sim_table_alloc();

			if (pmd == GPA_NONE) {
				for (unsigned i = 0; i < 4; i++)
					if (gget(cr3 + i * 8) & P && !gib_all_kernel(i))
						table_free(pte_addr(F, gget(cr3 + i * 8)));
				table_free(page);
				return -1;
			}
			gset(cr3 + (slot >> 9) * 8, pmd | pdpte_flags());
		}
		gset(dir_entry_at(cr3, slot << DIR_SHIFT), kpde[slot]);
	}
	t = (int)ntops++;
	tops[t] = cr3;
	dm_all(dmaps[t], false);
	/* A page that was a top level before may still be cached, stale. */
	if (cached(cr3))
		dm_all(dmaps[t], true);
	note("new top level 0x%x (model %d)", cr3, t);
	return t;
}

static void switch_to(int t)
{
	char what[64];

	note("new_pgtable(0x%x)", tops[t]);
	sim_totals.switches++;
	snprintf(what, sizeof(what), "new_pgtable(0x%x)", tops[t]);
	if (!call_ok(shadow_new_pgtable(g, tops[t]), what))
		return;
	cur = t;
	forget_evicted();
}

static void free_dir_tables(gpa_t dir, u32 base)
{
	for (unsigned i = 0; i < F->level[DIR].entries; i++) {
		pte_t e = gget(dir + i * F->entry_bytes);
		u64 va = base + (u64)i * DIR_SPAN;

		if ((e & P) && !kernel_va(va))
			table_free(pte_addr(F, e));
	}
}

/*
 * A process exits: its user mappings are taken down, announced, and its
 * tables go back to the pool. The shadow may keep the top level cached.
 */
static void op_retire(void)
{
	int t = (int)pick(ntops);
	gpa_t cr3 = tops[t];

	if (ntops < 2 || t == cur)
		return;
	note("retire top level 0x%x", cr3);
	if (PAE) {
		for (unsigned i0 = 0; i0 < 4; i0++) {
			pte_t p = gget(cr3 + i0 * 8);
			gpa_t pmd = pte_addr(F, p);

			if (!(p & P) || gib_all_kernel(i0))
				continue;
			if (gib_all_user(i0)) {
				if (!announce_pdpte(t, i0, 0))
					return;
				free_dir_tables(pmd, i0 << 30);
				table_free(pmd);
				continue;
			}
			for (u32 va = i0 << 30; va < kbase; va += DIR_SPAN) {
				gpa_t at = pmd + pt_index(F, 1, va) * 8;
				pte_t e = gget(at);

				if (!(e & P))
					continue;
				if (!announce_dir(t, va, at, 0))
					return;
				table_free(pte_addr(F, e));
			}
			table_free(pmd);
		}
	} else {
		for (u32 slot = 0; slot < (user_end >> DIR_SHIFT); slot++) {
			pte_t e = gget(cr3 + slot * 4);

			if (!(e & P))
				continue;
			if (!announce_dir(t, slot << DIR_SHIFT, cr3 + slot * 4, 0))
				return;
			table_free(pte_addr(F, e));
		}
	}
	table_free(cr3 & PAGE_MASK);
	nrecent[t] = 0;
	ntops--;
	if ((unsigned)t != ntops) {
		struct dmap *d = dmaps[t];

		tops[t] = tops[ntops];
		memcpy(recent[t], recent[ntops], sizeof(recent[t]));
		nrecent[t] = nrecent[ntops];
		dmaps[t] = dmaps[ntops];
		dmaps[ntops] = d;
		if (cur == (int)ntops)
			cur = t;
	}
}

static void op_switch(void)
{
	int t = -1;

	if (ntops < 2 || coin(25))
		t = top_new();
	if (t < 0)
		t = (int)pick(ntops);
	switch_to(t);
}

/* ---- directory entries -------------------------------------------------- */

/* The kernel's directory entry for slot changes, in every top level at once. */
static bool kernel_dir_set(u32 slot, gva_t va, pte_t v, bool announce)
{
	bool shared = PAE && gib_all_kernel(va >> 30);

	note("kernel directory entry for 0x%x (named by 0x%x) := 0x%llx (%s)", slot << DIR_SHIFT, va,
	     (unsigned long long)v, announce ? "announced" : "silent");
	kpde[slot] = v;
	if (shared) {
		gpa_t at = kpmd[va >> 30] + pt_index(F, 1, va) * 8;

		if (!announce) {
			gset(at, v);
		} else if (!announce_dir((int)pick(ntops), va, at, v)) {
			return false;
		}
	} else {
		bool told = false;

		for (unsigned i = 0; i < ntops; i++)
			gset(dir_entry_at(tops[i], va), v);
		for (unsigned i = 0; announce && i < ntops; i++) {
			if (!coin(70) && (told || i + 1 < ntops))
				continue;
			if (!announce_dir((int)i, va, dir_entry_at(tops[i], va), v))
				return false;
			told = true;
		}
	}
	if (!announce) {
		sim_totals.silent++;
		if (cur >= 0)
			dirty(-1, slot << DIR_SHIFT, ((u64)slot << DIR_SHIFT) + DIR_SPAN, true);
	}
	return true;
}

/*
 * A directory entry of top t (or the kernel's): link a new empty table,
 * unlink, change its flags, or move the table's contents to a new page.
 */
static void op_dir(bool kernel, int t, gva_t va)
{
	u32 slot = va >> DIR_SHIFT, base = slot << DIR_SHIFT;
	bool stack = stack_slot(base), announce = cur < 0 || coin(70);
	gpa_t at = GPA_NONE, fresh = GPA_NONE, old_table = GPA_NONE;
	pte_t old, v;
	unsigned r = pick(100);

	if (kernel) {
		old = kpde[slot];
	} else {
		if (PAE && !(gget(tops[t] + (va >> 30) * 8) & P)) {
			gpa_t pmd = sim_table_alloc();

			if (pmd == GPA_NONE)
				return;
			v = pmd | pdpte_flags();
			note("top 0x%x: link a directory for GiB %u (%s)", tops[t], va >> 30,
			     announce ? "announced" : "silent");
			if (announce) {
				announce_pdpte(t, va >> 30, v);
			} else {
				gset(tops[t] + (va >> 30) * 8, v);
				sim_totals.silent++;
				dirty(t, (va >> 30) * GIB, ((va >> 30) + 1) * GIB, true);
			}
			return;
		}
		old = gget(at = dir_entry_at(tops[t], va));
	}
	if (!(old & P) && stack)
		return;
	if (!(old & P) || (!stack && r < 12)) {			/* a new empty table */
		if ((fresh = sim_table_alloc()) == GPA_NONE)
			return;
		v = fresh | table_flags(stack);
	} else if (!stack && r < 24) {				/* unlink */
		v = not_present();
	} else if (r < 70) {					/* new flags */
		v = pte_addr(F, old) | table_flags(stack);
	} else {						/* move */
		if ((fresh = sim_table_alloc()) == GPA_NONE)
			return;
		memcpy(gptr(fresh), gptr(pte_addr(F, old)), PAGE_SIZE);
		v = fresh | (old & ~addr_mask());
	}
	if ((old & P) && fresh != GPA_NONE)
		old_table = pte_addr(F, old);
	if ((old & P) && !(v & P))
		old_table = pte_addr(F, old);
	if (kernel) {
		if (!kernel_dir_set(slot, va, v, announce))
			return;
	} else {
		note("top 0x%x: directory entry for 0x%x := 0x%llx (%s)", tops[t], va,
		     (unsigned long long)v, announce ? "announced" : "silent");
		if (announce) {
			if (!announce_dir(t, va, at, v))
				return;
		} else {
			gset(at, v);
			sim_totals.silent++;
			if (cur >= 0)
				dirty(t, base, (u64)base + DIR_SPAN, true);
		}
	}
	if (old_table != GPA_NONE)
		table_free(old_table);
}

/* PAE: a user gigabyte's top-level entry: unlink it, or move its directory. */
static void op_pdpte(int t, unsigned i0)
{
	gpa_t at = tops[t] + i0 * 8, pmd;
	pte_t p = gget(at), v;
	bool announce = coin(70), unlink = coin(50);

	if (!(p & P) || !gib_all_user(i0) || stack_slot(i0 * GIB))
		return;
	pmd = pte_addr(F, p);
	if (unlink) {
		v = not_present();
	} else {
		gpa_t fresh = sim_table_alloc();

		if (fresh == GPA_NONE)
			return;
		memcpy(gptr(fresh), gptr(pmd), PAGE_SIZE);
		v = fresh | pdpte_flags();
	}
	note("top 0x%x: top-level entry %u := 0x%llx (%s)", tops[t], i0, (unsigned long long)v,
	     announce ? "announced" : "silent");
	if (announce) {
		if (!announce_pdpte(t, i0, v))
			return;
	} else {
		gset(at, v);
		sim_totals.silent++;
		dirty(t, i0 * GIB, (i0 + 1) * GIB, true);
	}
	if (unlink)
		free_dir_tables(pmd, i0 << 30);
	table_free(pmd);
}

/* Make sure top t has a leaf table for va (announced or not). */
static gpa_t need_leaf(int t, gva_t va, bool kernel)
{
	for (int tries = 0; tries < 3; tries++) {
		gpa_t at = leaf_entry_at(tops[t], va);

		if (at != GPA_NONE || !alive())
			return at;
		op_dir(kernel, t, va);
	}
	return GPA_NONE;
}

/* ---- leaf entries ------------------------------------------------------- */

static void op_leaf(bool kernel, bool announce)
{
	gva_t va = hot_va(kernel);
	int t = kernel || cur < 0 ? (int)pick(ntops) : coin(70) ? cur : (int)pick(ntops);
	gpa_t at = leaf_entry_at(tops[t], va);
	pte_t v;

	if (at == GPA_NONE && !kernel && coin(30)) {
		/* No table for it: SET_PTE refuses, harmlessly. */
		pte_t before = PAE ? gget(tops[t] + (va >> 30) * 8) : gget(tops[t] + (va >> DIR_SHIFT) * 4);
		s32 r;

		v = leaf_value(va);
		note("set_pte(0x%x, 0x%x, 0x%llx) without a table", tops[t], va, (unsigned long long)v);
		r = shadow_set_entry(g, LEAF, tops[t], va, v);
		if (r != UMBRA_EINVAL || !alive())
			fail(CK_CALLS, "set_pte(0x%x, 0x%x, 0x%llx) with no leaf table returned %d%s%s",
			     tops[t], va, (unsigned long long)v, r, alive() ? "" : ", killed: ", g->reason);
		if (before != (PAE ? gget(tops[t] + (va >> 30) * 8) : gget(tops[t] + (va >> DIR_SHIFT) * 4)))
			fail(CK_CALLS, "set_pte with no leaf table changed the guest's tables");
		return;
	}
	if (at == GPA_NONE && (at = need_leaf(t, va, kernel)) == GPA_NONE)
		return;
	v = leaf_value(va);
	note("top 0x%x: entry for 0x%x := 0x%llx (%s)", tops[t], va, (unsigned long long)v,
	     announce ? "announced" : "silent");
	if (announce) {
		announce_leaf(t, va, at, v);
	} else {
		if (v & P)
			remember(t, va);
		gset(at, v);
		sim_totals.silent++;
		if (cur >= 0)
			dirty(t, va & PAGE_MASK, (va & PAGE_MASK) + PAGE_SIZE, true);
	}
}

/* ---- accesses, translations, flushes ------------------------------------ */

/*
 * One access by the guest, as the CPU makes it: through the shadow; on a
 * fault, shadow_fault() decides. FIXED must make the very next try succeed.
 */
static void access(gva_t va, bool write, bool user)
{
	bool linear = g->shadow.linear;

	sim_totals.accesses++;
	note("%s %s access to 0x%x", user ? "user" : "kernel", write ? "write" : "read", va);
	for (int tries = 0; tries < 2; tries++) {
		pte_t s = sim_shadow_entry(va);
		u32 err = (s & P ? 1u : 0u) | (write ? 2u : 0u) | (user ? 4u : 0u), gerr = 0xdead;
		bool full, allow;
		struct walk w;
		enum fault_result r;

		if ((s & P) && (!write || (s & W)) && (!user || (s & U)))
			return;
		if (tries) {
			fail(CK_FAULT, "shadow_fault fixed a %s %s access to 0x%x but the shadow entry 0x%llx still forbids it",
			     user ? "user" : "kernel", write ? "write" : "read", va, (unsigned long long)s);
			return;
		}
		r = shadow_fault(g, va, err, &gerr);
		if (r == FAULT_KILLED || !alive()) {
			if (starved())
				return;
			fail(CK_CALLS, "a fault at 0x%x (error %u) killed the guest: %s", va, err, g->reason);
			return;
		}
		if (linear) {
			full = allow = va >= PAGE_SIZE && va < g->mem_bytes;
		} else {
			full = walk(tops[cur], va, &w) == (int)LEVELS;
			allow = full && (!write || w.w) && (!user || w.u);
		}
		if (r == FAULT_GUEST) {
			u32 want = linear ? err : (err & ~1u) | (full ? 1u : 0u);

			sim_totals.reflected++;
			sim_totals.not_present += !full;
			if (allow)
				fail(CK_FAULT, "fault at 0x%x (error %u) reflected although the guest's tables allow it",
				     va, err);
			else if (gerr != want)
				fail(CK_FAULT, "fault at 0x%x (error %u) reflected with error %u, expected %u",
				     va, err, gerr, want);
			return;
		}
		sim_totals.fixed++;
		if (!allow) {
			fail(CK_FAULT, "fault at 0x%x (error %u) fixed although the guest's tables forbid it",
			     va, err);
			return;
		}
		if (!linear) {
			pte_t leaf = gget(w.at[LEAF]);

			if (!(leaf & A) || (write && !(leaf & D)))
				fail(CK_AD, "after a fixed %s fault at 0x%x the guest's entry is 0x%llx",
				     write ? "write" : "read", va, (unsigned long long)leaf);
			for (unsigned l = PAE; l < LEAF; l++)
				if (!(gget(w.at[l]) & A))
					fail(CK_AD, "after a fixed fault at 0x%x the guest's level %u entry 0x%llx is not accessed",
					     va, l, (unsigned long long)gget(w.at[l]));
			dirty(cur, va & PAGE_MASK, (va & PAGE_MASK) + PAGE_SIZE, false);
		}
	}
}

static gva_t some_va(void)
{
	unsigned r = pick(10);
	gva_t va;

	if (r < 6 && recent_va(&va))
		return va;
	if (r < 8)
		return hot_va(want_kernel());
	if (r < 9)
		return next32() % SW_BASE;
	return pick(g->mem_bytes + 2 * PAGE_SIZE);
}

static void op_access(void)
{
	access(some_va(), coin(40), coin(35));
}

static void op_translate(void)
{
	gva_t va = some_va();
	bool write = coin(50), got, want, linear = g->shadow.linear;
	gpa_t gpa = 0xdeadbeef;
	struct walk w;
	int r = 0;

	sim_totals.translations++;
	note("translate 0x%x for %s", va, write ? "writing" : "reading");
	got = shadow_translate(g, va, write, &gpa);
	if (!alive()) {
		fail(CK_CALLS, "translating 0x%x killed the guest: %s", va, g->reason);
		return;
	}
	if (linear) {
		want = va >= PAGE_SIZE && va < g->mem_bytes;
		if (got != want || (got && gpa != va))
			fail(CK_FAULT, "linear translation of 0x%x: %d 0x%x", va, got, gpa);
		return;
	}
	r = walk(tops[cur], va, &w);
	want = r == (int)LEVELS && (!write || w.w);
	if (got != want) {
		fail(CK_FAULT, "translate(0x%x, %s) returned %d; the guest's tables say %d",
		     va, write ? "write" : "read", got, want);
		return;
	}
	if (!got)
		return;
	if (gpa != (pte_addr(F, w.e[LEAF]) | (va & ~PAGE_MASK)))
		fail(CK_FAULT, "translate(0x%x) gave 0x%x, the guest's entry is 0x%llx",
		     va, gpa, (unsigned long long)w.e[LEAF]);
	for (unsigned l = PAE; l < LEVELS; l++) {
		pte_t e = gget(w.at[l]);

		if (!(e & A) || (l == LEAF && write && !(e & D)))
			fail(CK_AD, "after translate(0x%x, %s) the guest's level %u entry is 0x%llx",
			     va, write ? "write" : "read", l, (unsigned long long)e);
	}
}

static void flush(u32 kind, gva_t va)
{
	char what[64];

	sim_totals.flushes++;
	snprintf(what, sizeof(what), "flush(%u, 0x%x)", kind, va);
	note("%s", what);
	if (!call_ok(shadow_flush(g, kind, va), what))
		return;
	if (kind == UMBRA_FLUSH_ONE) {
		dirty(cur, va & PAGE_MASK, (va & PAGE_MASK) + PAGE_SIZE, false);
	} else if (kind == UMBRA_FLUSH_USER) {
		dm_all(dmaps[cur], false);
	} else {
		for (unsigned i = 0; i < ntops; i++)
			dm_all(dmaps[i], false);
		dm_all(kdirty, false);
	}
}

static void op_flush(void)
{
	unsigned r = pick(100);

	if (r < 60)
		flush(UMBRA_FLUSH_ONE, hot_va(want_kernel()));
	else if (r < 85)
		flush(UMBRA_FLUSH_USER, 0);
	else
		flush(UMBRA_FLUSH_ALL, 0);
}

/* A silent change to the current process's mapping, then its flush. */
static void op_edit_flush(void)
{
	bool kernel = want_kernel();
	gva_t va = hot_va(kernel);
	gpa_t at = leaf_entry_at(tops[cur], va);
	pte_t v;

	if (at == GPA_NONE)
		return;
	v = leaf_value(va);
	note("top 0x%x: entry for 0x%x := 0x%llx (silent, then flushed)", tops[cur], va,
	     (unsigned long long)v);
	gset(at, v);
	dirty(cur, va & PAGE_MASK, (va & PAGE_MASK) + PAGE_SIZE, true);
	flush(UMBRA_FLUSH_ONE, va);
}

/* ---- raw operations (the fuzzer): any value, then one check ------------- */

static gpa_t raw_cr3(void)
{
	return coin(80) ? tops[pick(ntops)] : next32();
}

static gva_t raw_va(void)
{
	gva_t va = coin(60) ? hot_va(want_kernel()) : next32();

	return va;
}

static void op_raw(void)
{
	unsigned r = pick(8);
	u32 gerr;
	gpa_t gpa;
	gva_t va = raw_va();
	struct walk w;

	switch (r) {
	case 0:
		note("raw set_pte");
		shadow_set_entry(g, LEAF, raw_cr3(), va, PAE ? next64() : next32());
		break;
	case 1:
		note("raw %s", PAE ? "set_pmd" : "set_pgd");
		if (PAE)
			shadow_set_entry(g, DIR, raw_cr3(), va, next64());
		else
			shadow_set_pgd(g, raw_cr3(), pick(1030), next32());
		break;
	case 2:
		note("raw set_pgd");
		shadow_set_pgd(g, raw_cr3(), coin(80) ? pick(F->level[0].entries + 2) : next32(),
			       PAE ? next64() : next32());
		break;
	case 3:
		note("raw new_pgtable");
		if (shadow_new_pgtable(g, raw_cr3()) == 0 && alive())
			cur = model_top(g->shadow.cur->cr3);
		break;
	case 4:
		note("raw flush");
		shadow_flush(g, coin(80) ? pick(4) : next32(), va);
		break;
	case 5:
		/* The CPU cannot fault in the Switcher region: segments end below it. */
		note("raw fault at 0x%x", va % SW_BASE);
		shadow_fault(g, va % SW_BASE, next32() & 7, &gerr);
		break;
	case 6:
		note("raw translate 0x%x", va);
		shadow_translate(g, va, coin(50), &gpa);
		break;
	default: {
		/* Silent garbage somewhere on the walk, then a fault through it. */
		unsigned l = pick(LEVELS);
		int got = walk(tops[cur], va % SW_BASE, &w);

		if (got < (int)l)
			l = got < 0 ? 0 : (unsigned)got;
		note("raw level-%u entry 0x%x := garbage, then a fault", l, w.at[l]);
		gset(w.at[l], PAE ? next64() : next32());
		shadow_fault(g, va % SW_BASE, next32() & 7, &gerr);
		break;
	}
	}
	stop_run = true;	/* the model's tables may be anything now */
	if (cur >= 0 && alive() && !g->shadow.linear) {
		/* After a full flush only the pinned stack remains, freshly walked. */
		if (shadow_flush(g, UMBRA_FLUSH_ALL, 0) == 0 && alive() && cur >= 0) {
			for (unsigned i = 0; i < ntops; i++)
				dm_all(dmaps[i], false);
			dm_all(kdirty, false);
			check_all(true);
		}
	}
}

/* ---- hostile operations -------------------------------------------------- */

enum { H_LEAF_RESERVED, H_LEAF_BEYOND, H_DIR_LARGE, H_DIR_LEAF_BITS, H_DIR_BEYOND, H_TOP_BITS,
       H_GARBAGE_FAULT, H_GARBAGE_TRANSLATE, H_GARBAGE_SET, H_BAD_CR3, H_SWITCHER_VA,
       H_OUTSIDE_CR3, H_STACK, H_KINDS };

static const char *const hostile_names[H_KINDS] = {
	"leaf entry with a reserved bit", "leaf entry beyond memory", "large-page directory entry",
	"directory entry with leaf-only bits", "directory entry beyond memory",
	"top-level entry with bad bits", "garbage on the walk, then a fault",
	"garbage on the walk, then a translation", "garbage above a set_pte",
	"new_pgtable outside memory or misaligned", "set_pte in the Switcher region",
	"a table named outside memory", "the kernel stack unmapped",
};

static pte_t bad_leaf_bits(void)
{
	static const pte_t bits32[] = { PTE_PS };
	static const pte_t bits64[] = { PTE_PS, PTE_NX, 1ull << 52, 1ull << 62 };

	if (!PAE)
		return bits32[pick(ARRAY_SIZE(bits32))];
	return coin(20) ? (1ull << (52 + pick(11))) : bits64[pick(ARRAY_SIZE(bits64))];
}

static pte_t beyond_frame(void)
{
	pfn_t max = PAE ? 0xffffffffu : 0xfffffu;

	return (pte_t)(coin(50) ? nr_pfns + pick(16) : nr_pfns + pick(max - nr_pfns + 1)) << PAGE_SHIFT;
}

/* A user mapping in the current top with all its tables: the target of garbage. */
static gva_t mapped_user_va(void)
{
	gva_t va = hot_va(false) & PAGE_MASK;
	gpa_t at = need_leaf(cur, va, false);

	if (at == GPA_NONE)
		return 0;
	gset(at, ((pte_t)any_frame() << PAGE_SHIFT) | P | W | U | A | D);
	return va;
}

static void expect_killed(unsigned kind, bool returned_ok, const char *what)
{
	if (alive() || !g->killed || !g->reason[0])
		fail(CK_HOSTILE, "%s (%s): guest not killed", what, hostile_names[kind]);
	else if (returned_ok)
		fail(CK_HOSTILE, "%s (%s): killed, but the call reported success", what,
		     hostile_names[kind]);
	else if (!strstr(sim_last_message(), g->name) || !strstr(sim_last_message(), "killed"))
		fail(CK_HOSTILE, "%s: the console says \"%s\"", what, sim_last_message());
}

static void hostile(unsigned kind)
{
	gva_t va = mapped_user_va();
	pte_t v, frame = (pte_t)any_frame() << PAGE_SHIFT;
	char what[160];
	gpa_t at, gpa;
	u32 gerr;
	bool ok = false;
	s32 r;

	if (!va || !alive())
		return;
	if (kind == H_STACK && !stack_hi)
		kind = H_LEAF_RESERVED;
	switch (kind) {
	case H_LEAF_RESERVED:
	case H_LEAF_BEYOND:
		v = kind == H_LEAF_BEYOND ? beyond_frame() | P | A : frame | P | A | bad_leaf_bits();
		snprintf(what, sizeof(what), "set_pte(0x%x, 0x%x, 0x%llx)", tops[cur], va, (unsigned long long)v);
		ok = shadow_set_entry(g, LEAF, tops[cur], va, v) != UMBRA_EINVAL;
		break;
	case H_DIR_LARGE:
	case H_DIR_LEAF_BITS:
	case H_DIR_BEYOND:
		v = kind == H_DIR_LARGE ? frame | P | W | A | PTE_PS :
		    kind == H_DIR_LEAF_BITS ? frame | P | W | A | (coin(50) ? D : PTE_G) : beyond_frame() | P | W;
		snprintf(what, sizeof(what), "%s for 0x%x := 0x%llx", PAE ? "set_pmd" : "set_pgd", va,
			 (unsigned long long)v);
		r = PAE ? shadow_set_entry(g, DIR, tops[cur], va, v) :
			  shadow_set_pgd(g, tops[cur], va >> DIR_SHIFT, v);
		ok = r != UMBRA_EINVAL;
		break;
	case H_TOP_BITS:
		v = PAE ? frame | P | (coin(50) ? W : U) : frame | P | D;
		snprintf(what, sizeof(what), "set_pgd(0x%x, %u, 0x%llx)", tops[cur], pt_index(F, 0, va),
			 (unsigned long long)v);
		ok = shadow_set_pgd(g, tops[cur], pt_index(F, 0, va), v) != UMBRA_EINVAL;
		break;
	case H_GARBAGE_FAULT:
	case H_GARBAGE_TRANSLATE:
	case H_GARBAGE_SET: {
		unsigned l = kind == H_GARBAGE_SET ? pick(LEAF) : pick(LEVELS);
		struct walk w;

		walk(tops[cur], va, &w);
		v = coin(50) ? (beyond_frame() | P | W | U | A) :
		    l == 0 && PAE ? frame | P | W : l == LEAF ? frame | P | A | bad_leaf_bits() :
		    frame | P | W | U | A | PTE_PS;
		snprintf(what, sizeof(what), "level-%u entry for 0x%x := 0x%llx, then %s", l, va,
			 (unsigned long long)v, kind == H_GARBAGE_FAULT ? "a fault" :
			 kind == H_GARBAGE_TRANSLATE ? "a translation" : "set_pte");
		gset(w.at[l], v);
		if (kind == H_GARBAGE_FAULT)
			ok = shadow_fault(g, va, 4 | (coin(50) ? 2 : 0), &gerr) != FAULT_KILLED;
		else if (kind == H_GARBAGE_TRANSLATE)
			ok = shadow_translate(g, va, coin(50), &gpa);
		else
			ok = shadow_set_entry(g, LEAF, tops[cur], va, frame | P) != UMBRA_EINVAL;
		break;
	}
	case H_BAD_CR3: {
		gpa_t cr3;

		switch (pick(4)) {
		case 0: cr3 = g->mem_bytes; break;
		case 1: cr3 = PAE ? g->mem_bytes - 16 : g->mem_bytes - PAGE_SIZE / 2; break;
		case 2: cr3 = tops[cur] + (PAE ? 8 : 0x800); break;
		default: cr3 = next32() | 0x80000000u; break;
		}
		snprintf(what, sizeof(what), "new_pgtable(0x%x)", cr3);
		ok = shadow_new_pgtable(g, cr3) != UMBRA_EINVAL;
		break;
	}
	case H_SWITCHER_VA:
		if (coin(50)) {
			va = SW_BASE + pick(-SW_BASE);
			snprintf(what, sizeof(what), "set_pte(0x%x, 0x%x)", tops[cur], va);
			ok = shadow_set_entry(g, LEAF, tops[cur], va, frame | P) != UMBRA_EINVAL;
		} else {
			u32 index = (u32)(SW_BASE >> F->level[0].shift) + (PAE ? 1 + pick(8) : 0);

			if (PAE && coin(50))
				index = 4 + next32() % 1000;
			snprintf(what, sizeof(what), "set_pgd(0x%x, %u)", tops[cur], index);
			ok = shadow_set_pgd(g, tops[cur], index, 0) != UMBRA_EINVAL;
		}
		break;
	case H_OUTSIDE_CR3: {
		gpa_t cr3 = g->mem_bytes + PAGE_SIZE * pick(16);

		snprintf(what, sizeof(what), "set_pte/set_pgd naming table 0x%x", cr3);
		ok = coin(50) ? shadow_set_entry(g, LEAF, cr3, va, 0) != UMBRA_EINVAL :
				shadow_set_pgd(g, cr3, 0, 0) != UMBRA_EINVAL;
		break;
	}
	default:	/* H_STACK */
		at = leaf_entry_at(tops[cur], stack_lo);
		v = coin(50) ? not_present() : (gget(at) & ~W);
		snprintf(what, sizeof(what), "stack page 0x%x := 0x%llx", stack_lo, (unsigned long long)v);
		ok = shadow_set_entry(g, LEAF, tops[cur], stack_lo, v) != UMBRA_EINVAL;
		break;
	}
	note("hostile: %s", what);
	sim_totals.kills++;
	expect_killed(kind, ok, what);
}

/* ---- a run ------------------------------------------------------------------ */

struct guest *sim_guest_new(u32 mem_bytes, u32 shadows, u32 kernel_base)
{
	char why[128];

	sim_machine_init();
	free_before = frame_count(FRAME_FREE);
	g = guest_create("sim", mem_bytes, shadows, why, sizeof(why));
	if (!g) {
		fprintf(stderr, "shadow_sim: guest_create: %s\n", why);
		abort();
	}
	nr_pfns = g->nr_pfns;
	p2m = realloc(p2m, nr_pfns * sizeof(*p2m));
	if (!rev)
		rev = calloc(RAM_BYTES >> PAGE_SHIFT, sizeof(*rev));
	memset(rev, 0, (RAM_BYTES >> PAGE_SHIFT) * sizeof(*rev));
	for (pfn_t pfn = 0; pfn < nr_pfns; pfn++) {
		p2m[pfn] = guest_p2m(g, pfn);
		rev[p2m[pfn]] = pfn + 1;
	}
	pool = realloc(pool, nr_pfns * sizeof(*pool));
	in_pool = realloc(in_pool, nr_pfns);
	memset(in_pool, 0, nr_pfns);
	npool = 0;
	for (pfn_t pfn = nr_pfns; pfn-- > nr_pfns / 3;) {
		pool[npool++] = pfn;
		in_pool[pfn] = 1;
	}
	for (unsigned i = 0; i < MAX_TOPS; i++)
		if (!dmaps[i])
			dmaps[i] = calloc(1, sizeof(struct dmap));
	if (!kdirty)
		kdirty = calloc(1, sizeof(struct dmap));
	for (unsigned i = 0; i < MAX_TOPS; i++)
		dm_all(dmaps[i], false);
	dm_all(kdirty, false);
	ntops = 0;
	cur = -1;
	memset(nrecent, 0, sizeof(nrecent));
	kbase = kernel_base;
	user_end = kbase ? kbase : SW_BASE;
	memset(kpde, 0, sizeof(kpde));
	memset(kpmd, 0, sizeof(kpmd));
	stack_lo = stack_hi = 0;
	g->kernel_base = kernel_base;
	return g;
}

bool sim_guest_end(char *why, size_t len)
{
	bool ok = true;

	guest_destroy(g);
	if (frame_count(FRAME_FREE) != free_before || frame_count(FRAME_SHADOW) ||
	    frame_count(FRAME_GUEST) || frame_info(sw_pt)->refs != 1) {
		snprintf(why, len, "after guest_destroy: %u frames free (%u before), %u shadow, %u guest, Switcher table %u references",
			 frame_count(FRAME_FREE), free_before, frame_count(FRAME_SHADOW),
			 frame_count(FRAME_GUEST), frame_info(sw_pt)->refs);
		ok = false;
	}
	g->state = GUEST_FREE;	/* the test reuses the slot; the hypervisor keeps it */
	return ok;
}

/* Map the kernel stack and declare it, as SET_STACK does. */
static void setup_stack(void)
{
	u32 slot = hot_slot(true);
	unsigned pages = 1 + pick(2);
	u32 hi = slot + (pages + pick(LEAF_ENTRIES - pages + 1)) * PAGE_SIZE, lo = hi - pages * PAGE_SIZE;

	for (u32 va = lo; va < hi && alive(); va += PAGE_SIZE) {
		gpa_t at = need_leaf(0, va, true);

		if (at == GPA_NONE)
			return;
		if (!(kpde[va >> DIR_SHIFT] & W))
			kernel_dir_set(va >> DIR_SHIFT, va, kpde[va >> DIR_SHIFT] | W, true);
		announce_leaf(0, va, at, ((pte_t)any_frame() << PAGE_SHIFT) | P | W |
			      (coin(50) ? A : 0) | (coin(50) ? D : 0));
	}
	stack_lo = lo;
	stack_hi = hi;
	note("kernel stack [0x%x, 0x%x)", stack_lo, stack_hi);
	g->ss1 = UMBRA_KERNEL_DS;
	g->esp1 = stack_hi;
	g->stack_pages = pages;
	if ((!shadow_pin_stack(g) || !alive()) && !starved())
		fail(CK_CALLS, "pinning the kernel stack [0x%x, 0x%x) failed: %s", stack_lo, stack_hi,
		     g->reason);
}

static void step(bool raw)
{
	unsigned r = pick(100);

	if (raw && r < 3) {
		op_raw();
		return;
	}
	r = pick(100);
	if (r < 28)
		op_access();
	else if (r < 44)
		op_leaf(want_kernel(), true);
	else if (r < 50)
		op_leaf(want_kernel(), false);
	else if (r < 58) {
		bool kernel = want_kernel();
		int t = kernel ? 0 : coin(70) ? cur : (int)pick(ntops);

		if (PAE && !kernel && coin(10))
			op_pdpte(t, hot_slot(false) >> 30);
		else
			op_dir(kernel, t, va_in(hot_slot(kernel)));
	} else if (r < 66)
		op_flush();
	else if (r < 76)
		op_switch();
	else if (r < 82)
		op_translate();
	else if (r < 87)
		op_edit_flush();
	else if (r < 89)
		op_retire();
	else
		op_access();
}

static const u32 kbases_2level[] = { 0, 0xc0000000, 0x80000000, 0xbfc00000, 0x00400000 };
static const u32 kbases_pae[] = { 0, 0xc0000000, 0x80000000, 0xb0000000, 0xbfe00000, 0x40200000 };

bool sim_run(const struct sim_options *o)
{
	static const u32 cache_sizes[] = { 1, 2, 4, 8, 8, 3 };
	u32 mem, shadows, kb;
	bool pin, pin_late;
	char why[256];
	unsigned n;

	sim_machine_init();
	memset(&src, 0, sizeof(src));
	src.state = o->seed * 0x2545f4914f6cdd1dull + 1;
	src.data = o->data;
	src.len = o->len;
	run_seed = o->seed;
	run_step = 0;
	run_failed = false;
	stop_run = false;
	tracing = o->trace;
	trace_next = 0;

	mem = o->data ? MiB(1) + pick(256) * PAGE_SIZE : MiB(2) + pick(1536) * PAGE_SIZE;
	shadows = cache_sizes[pick(ARRAY_SIZE(cache_sizes))];
	kb = PAE ? kbases_pae[pick(ARRAY_SIZE(kbases_pae))] : kbases_2level[pick(ARRAY_SIZE(kbases_2level))];
	pin = kb && coin(50);
	pin_late = coin(50);
	sim_guest_new(mem, shadows, kb);
	max_tops = 2 + pick(MAX_TOPS - 1);
	choose_hot();
	if (PAE)
		for (unsigned i0 = 0; i0 < 4; i0++)
			if (gib_all_kernel(i0))
				kpmd[i0] = sim_table_alloc();
	pressure = coin(15);
	if (pressure)
		sim_hog_frames(pick(48));
	note("guest: %u KiB, %u cached shadows, kernel at 0x%x, up to %u top levels%s%s", mem / 1024,
	     shadows, kb, max_tops, pin ? ", pinned stack" : "",
	     pressure ? ", memory pressure" : "");
	sim_totals.seeds++;

	/* Linear boot mapping: accesses, and the first tables built in memory. */
	top_new();
	n = 2 + pick(8);
	for (unsigned i = 0; i < n && alive() && !run_failed; i++, run_step++) {
		unsigned r = pick(4);

		if (r == 0)
			op_access();
		else if (r == 1)
			op_translate();
		else
			op_leaf(want_kernel(), true);
		check_all(true);
	}
	if (pin && !pin_late && alive())
		setup_stack();
	if (alive() && !run_failed)
		switch_to(0);
	if (pin && pin_late && alive() && !run_failed)
		setup_stack();
	if (alive())
		check_all(true);

	for (unsigned i = 0; i < o->steps && alive() && !run_failed; i++, run_step++) {
		if (src.data && src.out)
			break;
		step(o->raw);
		sim_totals.steps++;
		if (alive() && cur >= 0)
			check_all(true);
		if (stop_run)
			break;
	}
	if (alive() && !run_failed && !stop_run && cur >= 0) {
		/* After a flush of everything nothing may be stale. */
		flush(UMBRA_FLUSH_ALL, 0);
		if (alive())
			check_all(true);
	}
	if (o->hostile && (!o->data || coin(50)) && alive() && !run_failed && !stop_run && cur >= 0) {
		hostile(o->data ? pick(H_KINDS) : (unsigned)(o->seed % H_KINDS));
		check_all(false);
	}
	if (!alive())
		check_all(false);
	sim_totals.evictions += g->shadow.evictions;
	sim_totals.starved += starved();
	sim_unhog_frames();
	if (!sim_guest_end(why, sizeof(why)))
		fail(CK_LEAK, "%s", why);
	return !run_failed;
}
