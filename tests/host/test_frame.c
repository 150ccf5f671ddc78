/*
 * The frame allocator, run over small simulated machines. Each test builds
 * its own frame table with malloc() of exactly the right size, so an index
 * past the end is an AddressSanitizer report, not a silent success.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "mm/frame.h"
#include "mm/phys.h"

static struct frame *table;

/* A table of n frames, the first `direct` of them mapped one-to-one. */
static void fresh_split(mfn_t n, mfn_t direct)
{
	free(table);
	table = malloc(n * sizeof(*table));
	frame_init(table, n, direct);
}

static void fresh(mfn_t n)
{
	fresh_split(n, n);
}

/* One character per frame, so a wrong layout shows in the failure line. */
static const char *owner_map(void)
{
	/* free, reserved, hypervisor, module, page table, switcher, guest, shadow */
	static const char code[FRAME_OWNER_COUNT] = ".rhmpsgt";
	static char map[1024];
	mfn_t n = frame_total();

	for (mfn_t m = 0; m < n && m + 1 < sizeof(map); m++)
		map[m] = code[frame_info(m)->owner];
	map[n < sizeof(map) ? n : sizeof(map) - 1] = '\0';
	return map;
}

static u32 sum_counts(void)
{
	u32 sum = 0;

	for (int o = 0; o < FRAME_OWNER_COUNT; o++)
		sum += frame_count(o);
	return sum;
}

static void test_init(void)
{
	fresh(16);
	CHECK_EQ(frame_total(), 16, "init: frame_total is the table size");
	CHECK_EQ(frame_count(FRAME_RESERVED), 16, "init: every frame starts reserved");
	CHECK_EQ(frame_count(FRAME_FREE), 0, "init: no frame starts free");
	frame_seal();
	CHECK_EQ(frame_alloc(FRAME_GUEST, 0), MFN_NONE, "init: no RAM means no allocation");
	CHECK(frame_info(16) == NULL, "frame_info past the table is NULL");
	CHECK(frame_info(MFN_NONE) == NULL, "frame_info(MFN_NONE) is NULL");
}

static void test_ram_rounding(void)
{
	fresh(16);
	frame_add_ram(0x1800, 0x5800);	/* partial frames 1 and 5 are not RAM */
	frame_add_ram(0x8000, 0xa000);	/* exactly frames 8 and 9 */
	frame_add_ram(0xb001, 0xbfff);	/* inside one frame: nothing */
	CHECK_STR(owner_map(), "rr...rrr..rrrrrr", "add_ram: ranges round inwards");
	CHECK_EQ(frame_count(FRAME_FREE), 5, "add_ram: free count matches the map");

	/* A range past the table's end is clipped to it, even up to 4 GiB. */
	fresh(16);
	frame_add_ram(0x1000, 0xffffffff);
	CHECK_STR(owner_map(), "r...............", "add_ram: range to 4 GiB clipped to the table");

	/* Rounding the start up must not wrap to 0 in the last page below 4 GiB. */
	fresh(16);
	frame_add_ram(0xfffff001, 0xffffffff);
	CHECK_STR(owner_map(), "rrrrrrrrrrrrrrrr", "add_ram: partial last page below 4 GiB adds nothing");
}

static void test_reserve_rounding(void)
{
	fresh(16);
	frame_add_ram(0, 0x10000);
	frame_reserve(0x2800, 0x3001, FRAME_HYPERVISOR);	/* touches frames 2 and 3 */
	frame_reserve(0x6000, 0x6000, FRAME_MODULE);		/* empty */
	frame_reserve(0x8fff, 0x9001, FRAME_MODULE);		/* one byte of 8, one of 9 */
	frame_reserve(0x2000, 0x3000, FRAME_MODULE);		/* already the hypervisor's */
	CHECK_STR(owner_map(), "..hh....mm......", "reserve: ranges round outwards");
	CHECK_EQ(frame_count(FRAME_HYPERVISOR), 2, "reserve: hypervisor count");
	CHECK_EQ(frame_count(FRAME_MODULE), 2, "reserve: module count");
	CHECK_EQ(frame_count(FRAME_FREE), 12, "reserve: free count");
	CHECK_EQ(sum_counts(), 16, "reserve: counts sum to the total");
	/* Rounding the end up must not wrap to 0 in the last page below 4 GiB. */
	frame_reserve(0xf000, 0xffffffff, FRAME_SWITCHER);
	CHECK_STR(owner_map(), "..hh....mm.....s", "reserve: range to 4 GiB clipped to the table");
}

/* 32 frames: RAM is 1-30, the hypervisor holds 4-5 and a module 16. */
static void machine32(void)
{
	fresh(32);
	frame_add_ram(0x1000, 0x1f000);
	frame_reserve(0x4000, 0x6000, FRAME_HYPERVISOR);
	frame_reserve(0x10000, 0x10800, FRAME_MODULE);
	frame_seal();
}

static void test_order_and_exhaustion(void)
{
	static const mfn_t want[] = { 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
				      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
				      29, 30 };
	mfn_t got[40];
	unsigned n = 0, bad = ARRAY_SIZE(want);
	u32 counts[FRAME_OWNER_COUNT];
	struct frame before[32];
	bool still_none = true;

	machine32();
	while (n < ARRAY_SIZE(got) && (got[n] = frame_alloc(FRAME_GUEST, 1)) != MFN_NONE)
		n++;
	for (unsigned i = 0; i < ARRAY_SIZE(want) && i < n; i++)
		if (got[i] != want[i]) {
			bad = i;
			break;
		}
	check_done(n == ARRAY_SIZE(want) && bad == ARRAY_SIZE(want),
		   "alloc: hands out every RAM frame, lowest first",
		   bad < n ? check_fmt("allocation %u gave frame %u, expected %u", bad, got[bad], want[bad])
			   : check_fmt("%u frames handed out, expected %zu", n, ARRAY_SIZE(want)));
	bad = 0;
	for (unsigned i = 0; i < n; i++)
		bad += got[i] == 0 || got[i] == 4 || got[i] == 5 || got[i] == 16 || got[i] >= 31;
	CHECK_EQ(bad, 0, "alloc: never hands out a reserved frame");

	memcpy(before, table, sizeof(before));
	for (int o = 0; o < FRAME_OWNER_COUNT; o++)
		counts[o] = frame_count(o);
	for (int i = 0; i < 3; i++)
		still_none &= frame_alloc(FRAME_SHADOW, 2) == MFN_NONE;
	CHECK(still_none, "alloc: exhausted allocator keeps returning MFN_NONE");
	CHECK(!memcmp(before, table, sizeof(before)), "alloc: failed allocation leaves the table alone");
	bad = 0;
	for (int o = 0; o < FRAME_OWNER_COUNT; o++)
		bad += counts[o] != frame_count(o);
	CHECK_EQ(bad, 0, "alloc: failed allocation leaves the counts alone");

	frame_put(13);
	CHECK_EQ(frame_alloc(FRAME_GUEST, 1), 13, "alloc: a frame freed after exhaustion comes back");
	CHECK_EQ(frame_alloc(FRAME_GUEST, 1), MFN_NONE, "alloc: and then none is left again");
}

static void test_refcounts(void)
{
	u32 free0;
	mfn_t m;

	fresh(8);
	frame_add_ram(0, 0x8000);
	frame_seal();
	free0 = frame_count(FRAME_FREE);
	m = frame_alloc(FRAME_GUEST, 3);
	CHECK(m != MFN_NONE && frame_info(m)->refs == 1, "refs: a new frame has one reference");
	CHECK(frame_info(m)->owner == FRAME_GUEST && frame_info(m)->guest == 3,
	      "refs: a new frame records owner and guest");
	frame_get(m);
	frame_get(m);
	CHECK_EQ(frame_info(m)->refs, 3, "refs: frame_get counts up");
	frame_put(m);
	frame_put(m);
	CHECK(frame_info(m)->refs == 1 && frame_info(m)->owner == FRAME_GUEST,
	      "refs: frame still owned while a reference remains");
	CHECK_EQ(frame_count(FRAME_FREE), free0 - 1, "refs: not free while referenced");
	frame_put(m);
	CHECK(frame_info(m)->owner == FRAME_FREE && frame_info(m)->guest == NO_GUEST &&
	      frame_info(m)->refs == 0, "refs: last put frees the frame and forgets the guest");
	CHECK_EQ(frame_count(FRAME_FREE), free0, "refs: free count back after last put");
	CHECK_EQ(frame_count_guest(3), 0, "refs: guest owns nothing after last put");
}

/*
 * 32 frames, 1-30 RAM, the one-to-one map ending at frame 20: frame_alloc()
 * gives only 1-19, frame_alloc_any() gives 20-30 first and then what is left
 * below, and a freed frame goes back to the list it came from.
 */
static void test_two_lists(void)
{
	mfn_t m, first_any, last_any = 0;
	unsigned low = 0, any = 0, below = 0;

	fresh_split(32, 20);
	frame_add_ram(0x1000, 0x1f000);
	frame_seal();
	CHECK_EQ(frame_count_above(), 11, "lists: frames 20-30 are RAM above the map");
	CHECK_EQ(frame_count(FRAME_FREE), 30, "lists: every RAM frame is free");
	first_any = frame_alloc_any(FRAME_GUEST, 1);
	CHECK_EQ(first_any, 20, "lists: frame_alloc_any starts above the map");
	frame_put(first_any);
	for (int i = 0; i < 25 && (m = frame_alloc(FRAME_SHADOW, 1)) != MFN_NONE; i++)
		low += m >= 20 ? 100 : 1;
	CHECK_EQ(low, 19, "lists: frame_alloc gives the 19 mapped frames and nothing above");
	while ((m = frame_alloc_any(FRAME_GUEST, 1)) != MFN_NONE) {
		any++;
		last_any = m;
	}
	CHECK(any == 11 && last_any == 30, "lists: frame_alloc_any then gives 20-30, in order");
	frame_put(25);
	frame_put(7);
	CHECK_EQ(frame_alloc(FRAME_SHADOW, 1), 7, "lists: a freed mapped frame goes back below");
	CHECK_EQ(frame_alloc(FRAME_SHADOW, 1), MFN_NONE, "lists: frame 25 did not join the mapped list");
	CHECK_EQ(frame_alloc_any(FRAME_GUEST, 1), 25, "lists: it went back above");
	frame_put(3);
	below = frame_alloc_any(FRAME_GUEST, 1) == 3;
	CHECK(below, "lists: with nothing free above, frame_alloc_any takes a mapped frame");
	CHECK_EQ(frame_count(FRAME_FREE), 0, "lists: nothing is left free");
}

/* The child calls fn and must die of panic()'s abort(). */
static bool panics(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		fn();
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void put_free_frame(void) { frame_put(2); }
static void get_free_frame(void) { frame_get(2); }
static void put_beyond_table(void) { frame_put(8); }

static void test_misuse_panics(void)
{
	fresh(8);
	frame_add_ram(0, 0x8000);
	frame_seal();
	CHECK(panics(put_free_frame), "misuse: frame_put of a free frame panics");
	CHECK(panics(get_free_frame), "misuse: frame_get of a free frame panics");
	CHECK(panics(put_beyond_table), "misuse: frame_put past the table panics");
}

static void test_owner_counts(void)
{
	mfn_t held[64];
	unsigned n = 0;
	u32 free0;

	fresh(64);
	frame_add_ram(0x2000, 0x3e000);
	frame_reserve(0x8000, 0xa000, FRAME_HYPERVISOR);
	frame_seal();
	free0 = frame_count(FRAME_FREE);
	for (int i = 0; i < 5; i++)
		held[n++] = frame_alloc(FRAME_GUEST, 1);
	for (int i = 0; i < 3; i++)
		held[n++] = frame_alloc(FRAME_GUEST, 2);
	for (int i = 0; i < 4; i++)
		held[n++] = frame_alloc(FRAME_SHADOW, 1);
	for (int i = 0; i < 2; i++)
		held[n++] = frame_alloc(FRAME_PAGETABLE, NO_GUEST);
	CHECK_EQ(frame_count(FRAME_GUEST), 8, "owners: guest memory count");
	CHECK_EQ(frame_count(FRAME_SHADOW), 4, "owners: shadow count");
	CHECK_EQ(frame_count(FRAME_PAGETABLE), 2, "owners: page table count");
	CHECK_EQ(frame_count(FRAME_HYPERVISOR), 2, "owners: hypervisor count unchanged");
	CHECK_EQ(frame_count(FRAME_FREE), free0 - 14, "owners: free count dropped by 14");
	CHECK_EQ(frame_count_guest(1), 9, "owners: guest 1 holds memory and shadows");
	CHECK_EQ(frame_count_guest(2), 3, "owners: guest 2");
	CHECK_EQ(frame_count_owned(FRAME_SHADOW, 1), 4, "owners: shadows of guest 1");
	CHECK_EQ(frame_count_owned(FRAME_GUEST, 2), 3, "owners: memory of guest 2");
	CHECK_EQ(sum_counts(), 64, "owners: counts sum to the total");
	while (n)
		frame_put(held[--n]);
	CHECK_EQ(frame_count(FRAME_FREE), free0, "owners: free count restored");
	CHECK(frame_count_guest(1) == 0 && frame_count_guest(2) == 0,
	      "owners: no guest holds anything after freeing");
	CHECK_EQ(sum_counts(), 64, "owners: counts still sum to the total");
}

static u32 rng_state;

/* xorshift32: small, seeded, and the same on every machine. */
static u32 rng(void)
{
	u32 x = rng_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return rng_state = x;
}

static int cmp_mfn(const void *a, const void *b)
{
	mfn_t x = *(const mfn_t *)a, y = *(const mfn_t *)b;

	return (x > y) - (x < y);
}

static void test_alloc_all_free_all(void)
{
	mfn_t first[128], second[128];
	unsigned n = 0, n2 = 0;
	u32 free0;

	fresh(128);
	frame_add_ram(0x1000, 0x7f800);
	frame_reserve(0x10000, 0x12000, FRAME_HYPERVISOR);
	frame_reserve(0x40000, 0x40001, FRAME_MODULE);
	frame_seal();
	free0 = frame_count(FRAME_FREE);
	while ((first[n] = frame_alloc(FRAME_GUEST, n % 4)) != MFN_NONE)
		n++;
	CHECK_EQ(n, free0, "all: every free frame can be allocated");
	CHECK_EQ(frame_count(FRAME_FREE), 0, "all: none free once all are allocated");

	rng_state = 0x2545f491;
	for (unsigned i = n; i > 1; i--) {	/* free in a shuffled order */
		unsigned j = rng() % i;
		mfn_t t = first[i - 1];

		first[i - 1] = first[j];
		first[j] = t;
	}
	for (unsigned i = 0; i < n; i++)
		frame_put(first[i]);
	CHECK_EQ(frame_count(FRAME_FREE), free0, "all: free count restored after freeing all");
	CHECK_EQ(sum_counts(), 128, "all: counts sum to the total");

	while ((second[n2] = frame_alloc(FRAME_SHADOW, 0)) != MFN_NONE)
		n2++;
	qsort(first, n, sizeof(first[0]), cmp_mfn);
	qsort(second, n2, sizeof(second[0]), cmp_mfn);
	CHECK(n == n2 && !memcmp(first, second, n * sizeof(first[0])),
	      "all: the same frames are handed out the second time");
}

static void test_zeroed(void)
{
	const u32 nframes = 16;
	mfn_t m, next, again;
	bool zero = true, junk = true;
	u8 *page;

	hosted_ram = calloc(nframes, PAGE_SIZE);
	fresh(nframes);
	frame_add_ram(0x1000, nframes * PAGE_SIZE);
	frame_seal();
	m = frame_alloc(FRAME_GUEST, 0);
	next = frame_alloc(FRAME_GUEST, 0);
	memset(hosted_ram + (size_t)m * PAGE_SIZE, 0xa5, PAGE_SIZE);
	memset(hosted_ram + (size_t)next * PAGE_SIZE, 0x5a, PAGE_SIZE);
	frame_put(m);
	again = frame_alloc_zeroed(FRAME_SHADOW, 0);
	CHECK_EQ(again, m, "zeroed: the junk frame is the one handed out again");
	page = hosted_ram + (size_t)again * PAGE_SIZE;
	for (u32 i = 0; i < PAGE_SIZE; i++)
		zero &= page[i] == 0;
	CHECK(zero, "zeroed: frame_alloc_zeroed clears the whole frame");
	page = hosted_ram + (size_t)next * PAGE_SIZE;
	for (u32 i = 0; i < PAGE_SIZE; i++)
		junk &= page[i] == 0x5a;
	CHECK(junk, "zeroed: the neighbouring frame is untouched");

	while (frame_alloc(FRAME_GUEST, 0) != MFN_NONE)
		;
	CHECK_EQ(frame_alloc_zeroed(FRAME_GUEST, 0), MFN_NONE,
		 "zeroed: exhaustion returns MFN_NONE without writing anywhere");
	free(hosted_ram);
	hosted_ram = NULL;
}

/*
 * A long random run against a shadow model of what every frame should be.
 * The allocator's own bookkeeping (counts, owner, guest, refs) must agree
 * with the model after every step.
 */
#define MODEL_FRAMES	200
#define MODEL_STEPS	20000

struct model_frame {
	u8 owner, guest;
	u32 refs;
};

static struct model_frame model[MODEL_FRAMES];

static bool model_agrees(char *why, size_t len)
{
	u32 counts[FRAME_OWNER_COUNT] = { 0 }, guests[5] = { 0 };

	for (mfn_t m = 0; m < MODEL_FRAMES; m++) {
		const struct frame *f = frame_info(m);

		if (f->owner != model[m].owner || f->guest != model[m].guest ||
		    f->refs != model[m].refs) {
			snprintf(why, len, "frame %u is owner %u guest %u refs %u, model says %u/%u/%u",
				 m, f->owner, f->guest, f->refs, model[m].owner,
				 model[m].guest, model[m].refs);
			return false;
		}
		counts[model[m].owner]++;
		if (model[m].owner != FRAME_FREE && model[m].guest < 5)
			guests[model[m].guest]++;
	}
	for (int o = 0; o < FRAME_OWNER_COUNT; o++)
		if (frame_count(o) != counts[o]) {
			snprintf(why, len, "count of %s is %u, model says %u",
				 frame_owner_name(o), frame_count(o), counts[o]);
			return false;
		}
	for (u8 g = 0; g < 5; g++)
		if (frame_count_guest(g) != guests[g]) {
			snprintf(why, len, "guest %u holds %u frames, model says %u",
				 g, frame_count_guest(g), guests[g]);
			return false;
		}
	if (sum_counts() != MODEL_FRAMES) {
		snprintf(why, len, "counts sum to %u", sum_counts());
		return false;
	}
	return true;
}

static bool model_step(char *why, size_t len)
{
	static const u8 owners[] = { FRAME_GUEST, FRAME_SHADOW, FRAME_PAGETABLE, FRAME_HYPERVISOR };
	static mfn_t held[MODEL_STEPS];	/* one entry per reference */
	static unsigned nheld, step;
	/* Alternate alloc-heavy and free-heavy phases to reach exhaustion and back. */
	unsigned alloc_pct = (step++ / 500) % 2 ? 25 : 75;
	unsigned r = rng() % 100;

	if (r < alloc_pct || !nheld) {
		u8 owner = owners[rng() % ARRAY_SIZE(owners)];
		u8 guest = rng() % 5 == 4 ? NO_GUEST : rng() % 4;
		mfn_t m = frame_alloc(owner, guest);
		u32 nfree = 0;

		for (mfn_t i = 0; i < MODEL_FRAMES; i++)
			nfree += model[i].owner == FRAME_FREE;
		if (m == MFN_NONE) {
			if (nfree)
				snprintf(why, len, "MFN_NONE with %u frames free", nfree);
			return !nfree;
		}
		if (m >= MODEL_FRAMES || model[m].owner != FRAME_FREE) {
			snprintf(why, len, "handed out frame %u, which is not free", m);
			return false;
		}
		model[m] = (struct model_frame){ owner, guest, 1 };
		held[nheld++] = m;
	} else if (r < alloc_pct + (100 - alloc_pct) / 3) {
		mfn_t m = held[rng() % nheld];

		frame_get(m);
		model[m].refs++;
		held[nheld++] = m;
	} else {
		unsigned i = rng() % nheld;
		mfn_t m = held[i];

		held[i] = held[--nheld];
		frame_put(m);
		if (--model[m].refs == 0)
			model[m] = (struct model_frame){ FRAME_FREE, NO_GUEST, 0 };
	}
	return model_agrees(why, len);
}

static void test_random_model(void)
{
	char why[200] = "";
	unsigned step;
	bool ok = true;

	fresh(MODEL_FRAMES);
	frame_add_ram(0x1000, MODEL_FRAMES * PAGE_SIZE);
	frame_reserve(0x14000, 0x19000, FRAME_HYPERVISOR);
	frame_reserve(0x64000, 0x64fff, FRAME_MODULE);
	frame_seal();
	for (mfn_t m = 0; m < MODEL_FRAMES; m++) {
		const struct frame *f = frame_info(m);

		model[m] = (struct model_frame){ f->owner, f->guest, f->refs };
	}
	rng_state = 12345;
	for (step = 0; step < MODEL_STEPS && ok; step++)
		ok = model_step(why, sizeof(why));
	check_done(ok, check_fmt("model: %u random alloc/get/put steps agree with the model",
				 MODEL_STEPS),
		   check_fmt("step %u: %s", step - 1, why));
	CHECK_EQ(model[0].owner, FRAME_RESERVED, "model: frame 0 was never handed out");
	CHECK(model[0x14].owner == FRAME_HYPERVISOR && model[0x18].owner == FRAME_HYPERVISOR &&
	      model[0x64].owner == FRAME_MODULE, "model: reserved frames were never handed out");
}

int main(void)
{
	test_init();
	test_ram_rounding();
	test_reserve_rounding();
	test_order_and_exhaustion();
	test_refcounts();
	test_misuse_panics();
	test_two_lists();
	test_owner_counts();
	test_alloc_all_free_all();
	test_zeroed();
	test_random_model();
	free(table);
	return check_status();
}
