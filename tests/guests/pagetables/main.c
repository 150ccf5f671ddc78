/*
 * Page tables built by the guest, shadowed by umbra: every behaviour a
 * kernel relies on, checked through the guest's own eyes.
 *
 * Layout (guest-virtual): guest memory is mapped at its own addresses in
 * every address space (a small kernel's identity map, open to ring 3 so
 * the test can run user code from its image); KBASE up is the kernel
 * region declared in the shared page, whose leaf tables every address
 * space shares; USERVA is per address space.
 */
#include <umbra/kernel.h>
#include <umbra/paging.h>

#define KBASE		0xc0000000u
#define USERVA		0x40000000u
#define BATCHVA		0x50000000u
#define RANGEVA		0x60000000u	/* a leaf-table boundary in both formats */
#define DATA		0x00400000u	/* 4-8 MiB: data pages for the tests */
#define POOL		0x00800000u	/* 8-15 MiB: page-table pages */
#define POOL_END	0x00f00000u
#define SPACES		12		/* more than the default cache of 8 */
#define BATCH		1000

static uint32_t mem, top0;
static char kernel_stack[8192] __attribute__((aligned(4096)));
static uint32_t fault_cr2, fault_error, faults;
static int in_user;

/* Loads and stores that report a page fault instead of dying of it. */
__asm__(".text\n"
	"probe_read: mov 4(%esp), %ecx\nprobe_read_at: mov (%ecx), %eax\nprobe_read_ret: ret\n"
	"probe_write: mov 4(%esp), %ecx\nmov 8(%esp), %edx\n"
	"probe_write_at: mov %edx, (%ecx)\nprobe_write_ret: ret\n");
uint32_t probe_read(uint32_t va);
void probe_write(uint32_t va, uint32_t v);
extern char probe_read_at[], probe_read_ret[], probe_write_at[], probe_write_ret[];

void umbra_trap_handler(struct umbra_frame *f)
{
	fault_cr2 = umbra_shared.cr2;
	fault_error = f->error;
	faults++;
	if (in_user)
		umbra_user_return(1);
	if (f->eip == (uint32_t)probe_read_at) {
		f->eax = 0xdeadbeef;
		f->eip = (uint32_t)probe_read_ret;
	} else if (f->eip == (uint32_t)probe_write_at) {
		f->eip = (uint32_t)probe_write_ret;
	} else {
		umbra_fail("unexpected fault", "vector %u at eip 0x%x, cr2 0x%x", f->vector, f->eip,
			   fault_cr2);
		umbra_shutdown(1);
	}
}

/* Expect a fault on va with this error code; true if it came. */
static int expect_fault(uint32_t before, uint32_t va, uint32_t error)
{
	return faults == before + 1 && fault_cr2 == va && fault_error == error;
}

static uint32_t page(unsigned i)
{
	return DATA + i * UMBRA_PAGE;
}

/* A new address space sharing the identity map and the kernel region. */
static uint32_t new_space(void)
{
	uint32_t top = umbra_pt_new_top();

	for (uint32_t va = 0; va < mem; va += 1u << UMBRA_PT_DIR_SHIFT)
		umbra_share_dir(top, top0, va);
	umbra_share_dir(top, top0, KBASE);
	return top;
}

static void build_first_space(void)
{
	top0 = umbra_pt_new_top();
	umbra_batch_begin();
	for (uint32_t va = UMBRA_PAGE; va < mem; va += UMBRA_PAGE)
		umbra_map(top0, va, va, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_U | UMBRA_PTE_A | UMBRA_PTE_D);
	umbra_check(umbra_batch_end() >= 0, "identity map announced in batches");
	umbra_map(top0, KBASE, page(0), UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A | UMBRA_PTE_D);
	umbra_check(umbra_new_pgtable(top0) == 0, "switch to the guest's own page table");
	umbra_pass("still running on the guest's own page table");
}

static void test_map_remap_unmap(void)
{
	uint32_t f;

	*(volatile uint32_t *)page(1) = 0x11111111;
	*(volatile uint32_t *)page(2) = 0x22222222;
	umbra_map(top0, USERVA, page(1), UMBRA_PTE_P | UMBRA_PTE_W);
	umbra_check(probe_read(USERVA) == 0x11111111, "map: reads the mapped page");
	probe_write(USERVA + 4, 0x1234);
	umbra_check(*(volatile uint32_t *)(page(1) + 4) == 0x1234, "map: writes reach the page");
	umbra_map(top0, USERVA, page(2), UMBRA_PTE_P | UMBRA_PTE_W);
	umbra_check(probe_read(USERVA) == 0x22222222, "remap: reads the new page");
	umbra_unmap(top0, USERVA);
	f = faults;
	probe_read(USERVA);
	umbra_check(expect_fault(f, USERVA, 0), "unmap: read faults, not present, cr2 right");
}

static void test_accessed_dirty(void)
{
	uint32_t va = USERVA + 0x10000;

	umbra_map(top0, va, page(3), UMBRA_PTE_P | UMBRA_PTE_W);
	umbra_check(!(umbra_pte(top0, va) & (UMBRA_PTE_A | UMBRA_PTE_D)), "fresh entry: A and D clear");
	probe_read(va);
	umbra_check((umbra_pte(top0, va) & (UMBRA_PTE_A | UMBRA_PTE_D)) == UMBRA_PTE_A,
		    "after a read: A set, D clear");
	probe_write(va, 5);
	umbra_check((umbra_pte(top0, va) & (UMBRA_PTE_A | UMBRA_PTE_D)) == (UMBRA_PTE_A | UMBRA_PTE_D),
		    "after a write: A and D set");
	umbra_check(*(volatile uint32_t *)page(3) == 5, "the write landed");
}

static void user_read(void)
{
	(void)*(volatile uint32_t *)(USERVA + 0x20000);
	umbra_user_return(0);
}

static char user_stack[4096] __attribute__((aligned(16)));

static void test_protection(void)
{
	uint32_t ro = USERVA + 0x30000, sup = USERVA + 0x20000, f;

	umbra_map(top0, ro, page(4), UMBRA_PTE_P | UMBRA_PTE_U);
	*(volatile uint32_t *)page(4) = 77;
	umbra_check(probe_read(ro) == 77, "read-only page is readable");
	f = faults;
	probe_write(ro, 1);
	umbra_check(expect_fault(f, ro, 3) && *(volatile uint32_t *)page(4) == 77,
		    "write to a read-only page faults (P|W) in the kernel, nothing written");
	umbra_map(top0, sup, page(5), UMBRA_PTE_P | UMBRA_PTE_W);
	f = faults;
	in_user = 1;
	umbra_run_user(user_read, (uint32_t)user_stack + sizeof(user_stack));
	in_user = 0;
	umbra_check(expect_fault(f, sup, 5), "user read of a supervisor page faults (P|U)");
}

static void test_many_spaces(void)
{
	static uint32_t tops[SPACES];
	int right = 1;

	tops[0] = top0;
	for (unsigned i = 1; i < SPACES; i++)
		tops[i] = new_space();
	for (unsigned i = 0; i < SPACES; i++) {
		*(volatile uint32_t *)page(16 + i) = 1000 + i;
		umbra_map(tops[i], USERVA + 0x40000, page(16 + i), UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A);
	}
	for (unsigned round = 0; round < 3; round++)
		for (unsigned i = 0; i < SPACES; i++) {
			unsigned k = (i * 5 + round) % SPACES;

			umbra_new_pgtable(tops[k]);
			right &= probe_read(USERVA + 0x40000) == 1000 + k;
			right &= probe_read(KBASE) == *(volatile uint32_t *)page(0);
		}
	umbra_check(right, "12 address spaces, 8 cached shadows: each sees its own page");

	/* A kernel mapping changed in one space is seen in every other. */
	*(volatile uint32_t *)page(6) = 0x6666;
	umbra_new_pgtable(tops[3]);
	umbra_map(tops[3], KBASE, page(6), UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A | UMBRA_PTE_D);
	right = 1;
	for (unsigned i = 0; i < SPACES; i++) {
		umbra_new_pgtable(tops[i]);
		right &= probe_read(KBASE) == 0x6666;
	}
	umbra_check(right, "kernel mapping changed in one space is seen in all");
	umbra_new_pgtable(top0);
}

/* Rewrite an entry behind the hypervisor's back; only a flush makes it count. */
static void silent_map(uint32_t top, uint32_t va, uint32_t pa)
{
	umbra_pte_t *e = umbra_pte_slot(top, va);

	*e = pa | (*e & 0xfff);
}

static void test_flush(void)
{
	uint32_t va = USERVA + 0x50000;

	*(volatile uint32_t *)page(7) = 7;
	*(volatile uint32_t *)page(8) = 8;
	umbra_map(top0, va, page(7), UMBRA_PTE_P | UMBRA_PTE_W);
	probe_read(va);
	silent_map(top0, va, page(8));
	umbra_flush(UMBRA_FLUSH_ONE, va);
	umbra_check(probe_read(va) == 8, "flush one address: the new entry counts");
	silent_map(top0, va, page(7));
	umbra_flush(UMBRA_FLUSH_USER, 0);
	umbra_check(probe_read(va) == 7, "flush user part: the new entry counts");
	probe_read(KBASE);
	silent_map(top0, KBASE, page(8));
	umbra_flush(UMBRA_FLUSH_ALL, 0);
	umbra_check(probe_read(KBASE) == 8, "flush everything: a kernel entry counts too");
}

static void test_batch(void)
{
	uint64_t switches;
	long r;
	int right = 1;

	for (unsigned i = 0; i < 16; i++)
		*(volatile uint32_t *)page(32 + i) = 0xba000000 + i;
	for (unsigned i = 0; i < BATCH; i++)	/* make the leaf tables first */
		umbra_map(top0, BATCHVA + i * UMBRA_PAGE, page(32 + i % 16), 0);
	umbra_batch_begin();
	for (unsigned i = 0; i < BATCH; i++)
		umbra_map(top0, BATCHVA + i * UMBRA_PAGE, page(32 + i % 16),
			  UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A);
	switches = umbra_shared.world_switches;
	r = umbra_batch_end();
	switches = umbra_shared.world_switches - switches;
	umbra_check(r == BATCH, "1000 updates in one multicall");
	umbra_printf("batch of %u updates: %llu world switches\n", BATCH, switches);
	umbra_check(switches <= 2, "one world switch for the whole batch");
	for (unsigned i = 0; i < BATCH; i++)
		right &= probe_read(BATCHVA + i * UMBRA_PAGE) == 0xba000000 + i % 16;
	umbra_check(right, "every batched mapping reads its page");
}

/* Rewrite n leaf entries in place from va on, without a word to the hypervisor. */
static void rewrite(uint32_t va, unsigned n, uint32_t first_page, uint32_t flags)
{
	for (unsigned i = 0; i < n; i++) {
		umbra_pte_t *e = umbra_pte_slot(top0, va + i * UMBRA_PAGE);

		*e = flags ? page(first_page + i) | flags : 0;
	}
}

/* Read n pages from va on; true if page i holds tag + i. */
static int reads(uint32_t va, unsigned n, uint32_t tag)
{
	int right = 1;

	for (unsigned i = 0; i < n; i++)
		right &= probe_read(va + i * UMBRA_PAGE) == tag + i;
	return right;
}

/*
 * UPDATE_RANGE over 8 pages that straddle two leaf tables: a remap, a
 * write-protect and a clear, each written in place and announced once.
 */
static void test_range(void)
{
	uint32_t va = RANGEVA - 4 * UMBRA_PAGE, f;
	uint64_t sf;

	for (unsigned i = 0; i < 16; i++)
		*(volatile uint32_t *)page(64 + i) = 0xab000000 + i;
	for (unsigned i = 0; i < 8; i++)
		umbra_map(top0, va + i * UMBRA_PAGE, page(64 + i), UMBRA_PTE_P | UMBRA_PTE_W);
	umbra_check(reads(va, 8, 0xab000000), "range: the first mappings read");
	rewrite(va, 8, 72, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A | UMBRA_PTE_D);
	umbra_check(umbra_update_range(top0, va, 8) == 0, "range: update_range returns 0");
	sf = umbra_shared.shadow_faults;
	umbra_check(reads(va, 8, 0xab000008), "range: a remap in place takes effect");
	umbra_check(umbra_shared.shadow_faults == sf, "range: entries with A set are shadowed at once");
	rewrite(va, 8, 72, UMBRA_PTE_P | UMBRA_PTE_A | UMBRA_PTE_D);
	umbra_update_range(top0, va, 8);
	f = faults;
	probe_write(va + 5 * UMBRA_PAGE, 1);
	umbra_check(expect_fault(f, va + 5 * UMBRA_PAGE, 3) &&
		    *(volatile uint32_t *)page(77) == 0xab00000d, "range: write-protect takes effect");
	rewrite(va, 8, 64, UMBRA_PTE_P | UMBRA_PTE_W);
	umbra_update_range(top0, va, 8);
	umbra_check(reads(va, 8, 0xab000000), "range: entries without A are brought in on use");
	umbra_check(umbra_pte(top0, va + 7 * UMBRA_PAGE) & UMBRA_PTE_A, "range: and get A then");
	rewrite(va, 8, 72, UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A);
	umbra_update_range(top0, va, 8);
	probe_write(va + 2 * UMBRA_PAGE, 0xab00000a);
	umbra_check((umbra_pte(top0, va + 2 * UMBRA_PAGE) & UMBRA_PTE_D) &&
		    !(umbra_pte(top0, va + 3 * UMBRA_PAGE) & UMBRA_PTE_D),
		    "range: a clean page stays clean until written, and is dirty after");
	rewrite(va, 8, 0, 0);
	umbra_update_range(top0, va, 8);
	f = faults;
	probe_read(va + 6 * UMBRA_PAGE);
	umbra_check(expect_fault(f, va + 6 * UMBRA_PAGE, 0), "range: a clear takes effect");
	umbra_check(umbra_update_range(top0, 0x70000000, UMBRA_RANGE_MAX) == 0,
		    "range: a range with no tables is accepted");
}

/*
 * PROTECT_RANGE over the same 8 pages: the writable ones lose W and gain
 * the bits asked for, in the guest's entries and in the shadows; the rest
 * are left as they are.
 */
static void test_protect(void)
{
	uint32_t va = RANGEVA - 4 * UMBRA_PAGE, f;
	long n;

	for (unsigned i = 0; i < 8; i++)
		umbra_map(top0, va + i * UMBRA_PAGE, page(64 + i),
			  UMBRA_PTE_P | UMBRA_PTE_A | UMBRA_PTE_D | (i % 2 ? 0 : UMBRA_PTE_W));
	umbra_map(top0, va + 6 * UMBRA_PAGE, 0, 0);
	probe_write(va + 4 * UMBRA_PAGE, 0xab000004);	/* shadowed writable */
	n = umbra_protect_range(top0, va, 8, 0x200);
	umbra_check(n == 3, "protect: returns the number of entries it changed");
	umbra_check(umbra_pte(top0, va) == (page(64) | UMBRA_PTE_P | UMBRA_PTE_A | UMBRA_PTE_D | 0x200) &&
		    umbra_pte(top0, va + UMBRA_PAGE) == (page(65) | UMBRA_PTE_P | UMBRA_PTE_A | UMBRA_PTE_D) &&
		    umbra_pte(top0, va + 6 * UMBRA_PAGE) == 0,
		    "protect: W cleared and the bits set where W was, nothing else changed");
	f = faults;
	probe_write(va + 4 * UMBRA_PAGE, 1);
	umbra_check(expect_fault(f, va + 4 * UMBRA_PAGE, 3) &&
		    *(volatile uint32_t *)page(68) == 0xab000004, "protect: the shadow lost W too");
	umbra_check(probe_read(va + 4 * UMBRA_PAGE) == 0xab000004, "protect: reads still work");
}

/* The update for va's leaf entry in top0 (table pages are at their own addresses). */
static struct umbra_mmu_update upd(uint32_t va, uint64_t value)
{
	return (struct umbra_mmu_update){ (uint32_t)umbra_pte_slot(top0, va), value };
}

/*
 * MMU_UPDATE over the same 8 pages, named by where their entries live: a
 * remap with A set (shadowed at once), a write-protect, a clear; then a
 * leaf table that two address spaces link, which both must see changed;
 * then the kernel stack's own entry made clean, which must not leave the
 * stack unwritable.
 */
static void test_mmu_update(void)
{
	uint32_t va = RANGEVA - 4 * UMBRA_PAGE, other = new_space(), f;
	uint32_t stack = (uint32_t)kernel_stack;
	struct umbra_mmu_update u[8];
	uint64_t sf;

	for (unsigned i = 0; i < 8; i++)
		umbra_map(top0, va + i * UMBRA_PAGE, page(64 + i), UMBRA_PTE_P | UMBRA_PTE_W);
	umbra_check(reads(va, 8, 0xab000000), "mmu_update: the first mappings read");
	for (unsigned i = 0; i < 4; i++)
		u[i] = upd(va + i * UMBRA_PAGE, page(72 + i) | UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A);
	u[4] = upd(va + 4 * UMBRA_PAGE, page(68) | UMBRA_PTE_P | UMBRA_PTE_A);
	u[5] = upd(va + 5 * UMBRA_PAGE, 0);
	u[6] = upd(va + 6 * UMBRA_PAGE, page(78) | UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A | UMBRA_PTE_D);
	u[7] = upd(va + 7 * UMBRA_PAGE, page(79) | UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A | UMBRA_PTE_D);
	umbra_check(umbra_mmu_update(u, 8) == 8, "mmu_update: returns the count");
	sf = umbra_shared.shadow_faults;
	umbra_check(reads(va, 4, 0xab000008) && probe_read(va + 6 * UMBRA_PAGE) == 0xab00000e,
		    "mmu_update: remaps take effect");
	umbra_check(umbra_shared.shadow_faults == sf, "mmu_update: entries with A are shadowed at once");
	f = faults;
	probe_write(va + 4 * UMBRA_PAGE, 1);
	umbra_check(expect_fault(f, va + 4 * UMBRA_PAGE, 3), "mmu_update: a write-protect takes effect");
	f = faults;
	probe_read(va + 5 * UMBRA_PAGE);
	umbra_check(expect_fault(f, va + 5 * UMBRA_PAGE, 0), "mmu_update: a clear takes effect");

	umbra_share_dir(other, top0, va + 4 * UMBRA_PAGE);
	umbra_new_pgtable(other);
	umbra_check(probe_read(va + 7 * UMBRA_PAGE) == 0xab00000f, "mmu_update: a second space shares the table");
	umbra_new_pgtable(top0);
	u[0] = upd(va + 7 * UMBRA_PAGE, page(70) | UMBRA_PTE_P | UMBRA_PTE_A);
	umbra_mmu_update(u, 1);
	umbra_new_pgtable(other);
	umbra_check(probe_read(va + 7 * UMBRA_PAGE) == 0xab000006,
		    "mmu_update: every space that links the table sees the change");
	umbra_new_pgtable(top0);

	u[0] = upd(stack, stack | UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_U | UMBRA_PTE_A);
	umbra_mmu_update(u, 1);
	f = faults;
	probe_read(USERVA + 0x800000);
	umbra_check(expect_fault(f, USERVA + 0x800000, 0) && (umbra_pte(top0, stack) & UMBRA_PTE_D),
		    "mmu_update: the kernel stack stays writable (and dirty) after its entry changes");

	/* The same for a stack in a table only top0 links, which takes the reverse map's fast path. */
	umbra_map(top0, RANGEVA + 0x800000, page(90), UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A | UMBRA_PTE_D);
	umbra_set_stack(RANGEVA + 0x801000, 1);
	u[0] = upd(RANGEVA + 0x800000, page(90) | UMBRA_PTE_P | UMBRA_PTE_W | UMBRA_PTE_A);
	umbra_mmu_update(u, 1);
	/* Pinned again at once: made writable, so dirty, before any trap lands there. */
	umbra_check(umbra_pte(top0, RANGEVA + 0x800000) & UMBRA_PTE_D,
		    "mmu_update: a stack in an unshared table is pinned again at once");
	f = faults;
	probe_read(USERVA + 0x800000);
	umbra_check(expect_fault(f, USERVA + 0x800000, 0), "mmu_update: and traps still land there");
	umbra_set_stack((uint32_t)kernel_stack + sizeof(kernel_stack), 2);
}

/* SWITCH: the table and the stack at once; a stack of 0 keeps the old one. */
static void test_switch(void)
{
	uint32_t top = new_space(), f;

	umbra_check(umbra_switch(top, (uint32_t)kernel_stack + sizeof(kernel_stack), 2) == 0,
		    "switch: to a new table with the same stack");
	f = faults;
	probe_read(USERVA + 0x900000);
	umbra_check(expect_fault(f, USERVA + 0x900000, 0), "switch: traps still land on the stack");
	umbra_check(umbra_switch(top0, 0, 0) == 0, "switch: back, keeping the stack");
	umbra_check(probe_read(KBASE) == 8, "switch: the first table is in use again");
}

int guest_main(const struct umbra_boot_info *bi)
{
	mem = bi->mem_bytes;
	umbra_check(umbra_shared_init(KBASE, 0) == 0, "declare the kernel address");
	umbra_set_stack((uint32_t)kernel_stack + sizeof(kernel_stack), 2);
	umbra_set_trap(14, (void (*)(void))umbra_trap_stub(14), UMBRA_GATE_INTR, 1);
	umbra_pt_pool(POOL, POOL_END);
	build_first_space();
	test_map_remap_unmap();
	test_accessed_dirty();
	test_protection();
	test_many_spaces();
	test_flush();
	test_batch();
	test_range();
	test_protect();
	test_mmu_update();
	test_switch();
	return 0;
}
