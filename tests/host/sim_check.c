/*
 * The checker (see sim_internal.h): the shadow read the way the CPU reads
 * it, every entry compared with the guest's own tables, and the shadow's
 * structure and frame counts.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

/* What the shadow may hold in a leaf entry, and the linear mapping's flags. */
#define SPTE_FLAGS	(P | W | U | A | D | PTE_PWT | PTE_PCD)
#define LINEAR_FLAGS	(P | W | U | A | D)

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

/* Whether top t's shadow has a leaf table for va (a kernel one: shared by all). */
bool shadow_has_leaf(const struct shadow_top *t, gva_t va)
{
	mfn_t table = t->top;

	for (unsigned l = 0; l < LEAF; l++) {
		pte_t e = sget(table, pt_index(F, l, va));

		if (!(e & P))
			return false;
		table = pte_mfn(F, e);
	}
	return true;
}

pte_t shadow_entry_of(const struct shadow_top *t, gva_t va)
{
	return shadow_entry_in(t, va);
}

pte_t sim_shadow_entry_of(gpa_t cr3, gva_t va)
{
	for (unsigned i = 0; i < g->shadow.ntops; i++)
		if (g->shadow.tops[i].cr3 == cr3)
			return shadow_entry_in(&g->shadow.tops[i], va);
	return 0;
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
 * Top levels that FLUSH_ALL discarded are unreachable from the cache but
 * still hold their frames until they are collected: count each of their
 * frames once (kernel leaf tables may be shared between them), check it
 * is the shadow's, and leave the Switcher's table to its own count.
 */
static u32 garbage_tree(mfn_t m, unsigned level, u8 *seen)
{
	u32 n = 1;

	if (m == sw_pt || m >= RAM_BYTES >> PAGE_SHIFT || seen[m])
		return 0;
	seen[m] = 1;
	if (frame_info(m)->owner != FRAME_SHADOW)
		fail(CK_STRUCT, "discarded shadow table 0x%x is owned by %s", m,
		     frame_owner_name(frame_info(m)->owner));
	if (level == LEAF)
		return 1;
	for (unsigned i = 0; i < F->level[level].entries; i++) {
		pte_t e = sget(m, i);

		if (e & P)
			n += garbage_tree(pte_mfn(F, e), level + 1, seen);
	}
	return n;
}

static u32 garbage_frames(const struct shadow *sh)
{
	static u8 *seen;
	u32 n = 0;

	if (!seen)
		seen = malloc(RAM_BYTES >> PAGE_SHIFT);
	memset(seen, 0, RAM_BYTES >> PAGE_SHIFT);
	for (u32 i = 0; i < sh->ngarbage; i++)
		n += garbage_tree(sh->garbage[i], 0, seen);
	return n;
}

/*
 * Walk every cached shadow top level and the shared kernel leaf tables.
 * With `agree`, every present entry is checked against the guest's tables;
 * always, the structure: each table owned by this guest's shadow, with one
 * reference per link, the Switcher's table linked at its slot and nothing
 * else above SWITCHER_BASE, and the frame count matching what is linked.
 */
/* The reverse map's frames: its directory and the pages it lists. */
static u32 rmap_frames(const struct shadow *sh)
{
	const mfn_t *dir;
	u32 n = 0;

	if (!check_frame(sh->rmap_dir, 1, "reverse map", 0))
		return 0;
	dir = mfn_to_virt(sh->rmap_dir);
	for (unsigned i = 0; i < P2M_PER_PAGE; i++)
		if (dir[i] && check_frame(dir[i], 1, "reverse map page", 0))
			n++;
	return n + 1;
}

void check_all(bool agree)
{
	struct shadow *sh = &g->shadow;
	unsigned ncached = 0;
	u32 frames = 0;

	sim_totals.checks++;
	for (unsigned i = 0; i < ARRAY_SIZE(sh->kernel_pts); i++)
		if (check_frame(sh->kernel_pts[i], 1, "kernel table list", 0))
			frames++;
	frames += rmap_frames(sh);
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

	frames += garbage_frames(sh);
	if (frame_count(FRAME_SHADOW) != frames)
		fail(CK_STRUCT, "%u frames owned by the shadow, %u linked", frame_count(FRAME_SHADOW), frames);
	if (frame_info(sw_pt)->refs != 1 + ncached + sh->ngarbage)
		fail(CK_STRUCT, "the Switcher's table has %u references, %u top levels link it "
		     "(%u of them discarded)", frame_info(sw_pt)->refs, ncached + sh->ngarbage, sh->ngarbage);
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
