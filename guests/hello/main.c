/*
 * hello: greets, proves its memory is its own and as large as asked, and
 * exits with the code on its command line (code=N, default 0).
 *
 * The proof: fill every page from the end of the image to just below the
 * top of memory with a pattern derived from the guest's id and the page's
 * address, then read it all back. Another guest's memory, or a short one,
 * would not give the pattern back (or would fault). stride=N (bytes, a
 * multiple of 4, default 4) checks one word in every N instead of every
 * word: stride=4096 proves each page is the guest's own in a fraction of
 * the time, for guests of a GiB.
 */
#include <umbra/runtime.h>

extern char _end[];

#define PAGE		4096u
#define STACK_RESERVE	(64u * 1024)	/* the top, where the initial esp points */

static uint32_t pattern(uint32_t id, uint32_t addr)
{
	uint32_t x = addr * 2654435761u ^ (id + 1) * 40503u;

	return x ^ (x >> 15);
}

static uint32_t fill_and_check(uint32_t id, uint32_t start, uint32_t end, uint32_t stride,
			       uint32_t *bad)
{
	uint32_t sum = 0;

	for (uint32_t a = start; a < end; a += stride)
		*(volatile uint32_t *)a = pattern(id, a);
	for (uint32_t a = start; a < end; a += stride) {
		uint32_t v = *(volatile uint32_t *)a;

		if (v != pattern(id, a) && !*bad)
			*bad = a;
		sum += v;
	}
	return sum;
}

int guest_main(const struct umbra_boot_info *bi)
{
	uint32_t start = ((uint32_t)_end + PAGE - 1) & ~(PAGE - 1);
	uint32_t end = bi->mem_bytes - STACK_RESERVE, bad = 0, sum;
	uint32_t stride = umbra_arg_u32(bi, "stride", 4);

	umbra_printf("hello from %s (guest %u), %u KiB of memory\n", bi->name, bi->guest_id,
		     bi->mem_bytes / 1024);
	if (stride < 4 || stride % 4) {
		umbra_printf("FAIL stride=%u: expected a multiple of 4\n", stride);
		return 100;
	}
	sum = fill_and_check(bi->guest_id, start, end, stride, &bad);
	if (bad)
		umbra_printf("FAIL memory: word at 0x%x did not keep its value\n", bad);
	else
		umbra_printf("PASS memory: %u KiB at 0x%x-0x%x, one word in %u bytes, checksum 0x%08x\n",
			     (end - start) / 1024, start, end, stride, sum);
	umbra_yield();
	return bad ? 100 : (int)umbra_arg_u32(bi, "code", 0);
}
