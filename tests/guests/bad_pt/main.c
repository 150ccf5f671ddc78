/*
 * Hostile page tables: what a malicious kernel might hand the shadow code.
 * The command line's what= picks one attempt; each must end this guest with
 * a reason naming the bad value, while a canary beside it finishes and no
 * frame is lost. A guest still running afterwards prints FAIL.
 */
#include <umbra/kernel.h>
#include <umbra/paging.h>

#define POOL		0x00800000u
#define POOL_END	0x00c00000u
#define VA		0x40000000u

#if UMBRA_PAE
#define SWITCHER	UMBRA_SWITCHER_BASE_PAE
#define RESERVED_BIT	(1ull << 52)
#else
#define SWITCHER	UMBRA_SWITCHER_BASE_2LEVEL
#define RESERVED_BIT	0x80u		/* PAT: not supported, so reserved */
#endif

static uint32_t mem, top;

static int is(const char *what, const char *name)
{
	while (*what && *what == *name)
		what++, name++;
	return *what == *name;
}

/* A working address space: the guest's memory mapped at its own addresses. */
static void build_space(void)
{
	umbra_pt_pool(POOL, POOL_END);
	top = umbra_pt_new_top();
	umbra_batch_begin();
	for (uint32_t va = UMBRA_PAGE; va < mem; va += UMBRA_PAGE)
		umbra_map(top, va, va, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A | UMBRA_PTE_D);
	umbra_batch_end();
	umbra_new_pgtable(top);
	umbra_map(top, VA, 0x5000, UMBRA_PTE_P | UMBRA_PTE_W);	/* makes VA's leaf table */
}

static void attempt(const char *what)
{
	umbra_pte_t *slot;

	if (is(what, "frame_beyond"))
		umbra_set_pte(top, VA, (mem + 0x10000) | UMBRA_PTE_P | UMBRA_PTE_W);
	else if (is(what, "map_switcher"))
		umbra_set_pte(top, SWITCHER, 0x5000 | UMBRA_PTE_P);
	else if (is(what, "table_at_switcher"))
#if UMBRA_PAE
		umbra_set_pmd(top, SWITCHER, umbra_pt_page() | UMBRA_TABLE);
#else
		umbra_set_pgd(top, SWITCHER >> 22, umbra_pt_page() | UMBRA_TABLE);
#endif
	else if (is(what, "large_page"))
#if UMBRA_PAE
		umbra_set_pmd(top, VA, 0x200000 | UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_PS);
#else
		umbra_set_pgd(top, VA >> 22, 0x400000 | UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_PS);
#endif
	else if (is(what, "reserved_bits"))
		umbra_set_pte(top, VA, 0x5000 | UMBRA_PTE_P | RESERVED_BIT);
	else if (is(what, "table_reserved"))	/* PAE: a reserved high bit; 2-level has only PS */
#if UMBRA_PAE
		umbra_set_pmd(top, VA, umbra_pt_page() | UMBRA_TABLE | (1ull << 62));
#else
		umbra_set_pgd(top, VA >> 22, umbra_pt_page() | UMBRA_TABLE | UMBRA_PTE_PS);
#endif
	else if (is(what, "pgd_index"))
		umbra_set_pgd(top, 5000, 0);
	else if (is(what, "cr3_outside"))
		umbra_new_pgtable(mem + 0x1000);
	else if (is(what, "console_cross")) {
		/* The last mapped page, then nothing: the write must stop at the edge. */
		umbra_unmap(top, VA);
		umbra_console_write((const char *)(VA - 8), 16);
	} else if (is(what, "silent_bad_entry")) {
		/* Written behind the hypervisor's back: found when the guest touches it. */
		slot = umbra_pte_slot(top, VA);
		*slot = (mem + 0x20000) | UMBRA_PTE_P | UMBRA_PTE_W;
		umbra_flush(UMBRA_FLUSH_ONE, VA);
		(void)*(volatile uint32_t *)VA;
	} else if (is(what, "range_bad_entry")) {
		/* Rewritten in place, then announced as a range: checked like SET_PTE. */
		(void)*(volatile uint32_t *)VA;
		slot = umbra_pte_slot(top, VA);
		slot[3] = (mem + 0x30000) | UMBRA_PTE_P | UMBRA_PTE_A;
		umbra_update_range(top, VA, 8);
	} else if (is(what, "range_switcher")) {
		umbra_update_range(top, SWITCHER - 2 * UMBRA_PAGE, 4);
	} else if (is(what, "range_unaligned")) {
		umbra_update_range(top, VA + 8, 1);
	} else if (is(what, "range_too_long")) {
		umbra_update_range(top, VA, UMBRA_RANGE_MAX + 1);
	} else if (is(what, "protect_bits")) {
		umbra_protect_range(top, VA, 1, UMBRA_PTE_U);
	} else if (is(what, "mmu_misaligned") || is(what, "mmu_outside") || is(what, "mmu_bad_entry")) {
		static struct umbra_mmu_update u;

		u.ptr = (uint32_t)umbra_pte_slot(top, VA);
		u.val = 0x5000 | UMBRA_PTE_P;
		if (is(what, "mmu_misaligned"))
			u.ptr += 2;
		else if (is(what, "mmu_outside"))
			u.ptr = mem;
		else
			u.val = (mem + 0x40000) | UMBRA_PTE_P;
		umbra_mmu_update(&u, 1);
	} else if (is(what, "mmu_list")) {
		umbra_mmu_update((struct umbra_mmu_update *)(mem - 8), 2);
	} else if (is(what, "switch_bad_stack")) {
		/* The stack is checked in the table switched to: VA + 64 KiB is not mapped there. */
		umbra_switch(top, VA + 0x10000, 1);
	} else {
		umbra_fail("bad_pt", "unknown what=%s", what);
		return;
	}
	umbra_fail("bad_pt", "still running after what=%s", what);
}

int guest_main(const struct umbra_boot_info *bi)
{
	char what[32];

	mem = bi->mem_bytes;
	if (!umbra_arg(bi, "what", what, sizeof(what)))
		what[0] = '\0';
	build_space();
	if (is(what, "console_cross"))
		umbra_map(top, VA - UMBRA_PAGE, 0x6000, UMBRA_PTE_P | UMBRA_PTE_A);
	umbra_printf("trying %s\n", what);
	attempt(what);
	return 1;
}
