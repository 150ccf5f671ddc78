/*
 * Operations outside valid use (see sim_internal.h): raw values from the
 * fuzzer, after which only one check is made, and hostile entries and
 * arguments, which must kill the guest cleanly.
 */
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

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

void op_raw(void)
{
	unsigned r = pick(9);
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
	case 7: {
		u32 pages = coin(70) ? 1 + pick(3 * LEAF_ENTRIES) : next32();

		va = coin(70) ? va & PAGE_MASK : va;
		note("raw update_range or protect_range(0x%x, %u)", va, pages);
		if (coin(50))
			shadow_update_range(g, raw_cr3(), va, pages);
		else
			shadow_protect_range(g, raw_cr3(), va, pages, coin(80) ? next32() & PTE_AVAIL : next32());
		break;
	}
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

static const char *const hostile_names[H_KINDS] = {
	"leaf entry with a reserved bit", "leaf entry beyond memory", "large-page directory entry",
	"directory entry with reserved bits", "directory entry beyond memory",
	"top-level entry with bad bits", "garbage on the walk, then a fault",
	"garbage on the walk, then a translation", "garbage above a set_pte",
	"new_pgtable outside memory or misaligned", "set_pte in the Switcher region",
	"a table named outside memory", "the kernel stack unmapped",
	"a bad entry with P and A in an update_range", "update_range arguments out of range",
	"the kernel stack rewritten in place, then update_range", "switch to a stack not mapped writable",
	"protect_range setting bits other than the software bits", "protect_range over the kernel stack",
};

static pte_t bad_leaf_bits(void)
{
	static const pte_t bits32[] = { PTE_PS };
	static const pte_t bits64[] = { PTE_PS, PTE_NX, 1ull << 52, 1ull << 62 };

	if (!PAE)
		return bits32[pick(ARRAY_SIZE(bits32))];
	return coin(20) ? (1ull << (52 + pick(11))) : bits64[pick(ARRAY_SIZE(bits64))];
}

/* In a directory entry: PS (no large pages) with 2-level, a reserved high bit with PAE. */
static pte_t dir_reserved_bit(void)
{
	return PAE ? 1ull << (52 + pick(11)) : PTE_PS;
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

static void expect_killed(unsigned kind, bool returned_ok, const char *what, const char *want)
{
	if (alive() || !g->killed || !g->reason[0])
		fail(CK_HOSTILE, "%s (%s): guest not killed", what, hostile_names[kind]);
	else if (returned_ok)
		fail(CK_HOSTILE, "%s (%s): killed, but the call reported success", what,
		     hostile_names[kind]);
	else if (!strstr(sim_last_message(), g->name) || !strstr(sim_last_message(), "killed"))
		fail(CK_HOSTILE, "%s: the console says \"%s\"", what, sim_last_message());
	else if (want[0] && !strstr(g->reason, want) && !starved())
		fail(CK_HOSTILE, "%s (%s): killed for \"%s\", not for \"%s...\"", what,
		     hostile_names[kind], g->reason, want);
}

void hostile(unsigned kind)
{
	gva_t va = mapped_user_va();
	pte_t v, frame = (pte_t)any_frame() << PAGE_SHIFT;
	char what[160], want[128] = "";
	gpa_t at, gpa;
	u32 gerr;
	bool ok = false;
	s32 r;
	int got;

	if (!va || !alive())
		return;
	if ((kind == H_STACK || kind == H_RANGE_STACK || kind == H_PROTECT_STACK) && !stack_hi)
		kind = H_LEAF_RESERVED;
	if (kind == H_SWITCH_STACK && !kbase)
		kind = H_RANGE_ARGS;
	switch (kind) {
	case H_LEAF_RESERVED:
	case H_LEAF_BEYOND:
		v = kind == H_LEAF_BEYOND ? beyond_frame() | P | A : frame | P | A | bad_leaf_bits();
		snprintf(what, sizeof(what), "set_pte(0x%x, 0x%x, 0x%llx)", tops[cur], va, (unsigned long long)v);
		ok = shadow_set_entry(g, LEAF, tops[cur], va, v) != UMBRA_EINVAL;
		break;
	case H_DIR_LARGE:
	case H_DIR_RESERVED:
	case H_DIR_BEYOND:
		v = kind == H_DIR_LARGE ? frame | P | W | A | PTE_PS :
		    kind == H_DIR_RESERVED ? frame | P | W | A | dir_reserved_bit() : beyond_frame() | P | W;
		snprintf(what, sizeof(what), "%s for 0x%x := 0x%llx", PAE ? "set_pmd" : "set_pgd", va,
			 (unsigned long long)v);
		r = PAE ? shadow_set_entry(g, DIR, tops[cur], va, v) :
			  shadow_set_pgd(g, tops[cur], va >> DIR_SHIFT, v);
		ok = r != UMBRA_EINVAL;
		break;
	case H_TOP_BITS:
		v = PAE ? frame | P | (coin(50) ? W : U) : frame | P | PTE_PS;
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
	case H_RANGE_ENTRY:
	case H_RANGE_ARGS:
	case H_RANGE_STACK:
	case H_SWITCH_STACK:
	case H_PROTECT_BITS:
	case H_PROTECT_STACK:
		got = kind == H_RANGE_ENTRY ? hostile_range_entry(va, what, sizeof(what), want, sizeof(want)) :
		      kind == H_PROTECT_BITS ? hostile_protect_bits(va, what, sizeof(what), want, sizeof(want)) :
		      kind == H_PROTECT_STACK ? hostile_protect_stack(what, sizeof(what), want, sizeof(want)) :
		      kind == H_RANGE_ARGS ? hostile_range_args(va, what, sizeof(what), want, sizeof(want)) :
		      kind == H_RANGE_STACK ? hostile_range_stack(what, sizeof(what), want, sizeof(want)) :
		      hostile_switch_stack(what, sizeof(what), want, sizeof(want));
		if (got < 0)
			return;		/* not set up: the guest may have starved on the way */
		ok = got;
		break;
	default:	/* H_STACK */
		at = leaf_entry_at(tops[cur], stack_lo);
		v = coin(50) ? not_present() : (gget(at) & ~W);
		snprintf(what, sizeof(what), "stack page 0x%x := 0x%llx", stack_lo, (unsigned long long)v);
		ok = shadow_set_entry(g, LEAF, tops[cur], stack_lo, v) != UMBRA_EINVAL;
		break;
	}
	note("hostile: %s", what);
	sim_totals.kills++;
	expect_killed(kind, ok, what, want);
}
