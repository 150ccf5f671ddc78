/*
 * How long is this guest kept from the CPU? It spins reading the TSC for
 * ms= milliseconds and keeps the longest gap between two reads: the time
 * the others held the CPU in one go. With one other guest and a time slice
 * of S ms that should be about S; the check allows max_wait_us= (by
 * default two slices of 10 ms and a tick).
 */
#include <umbra/kernel.h>

int guest_main(const struct umbra_boot_info *bi)
{
	uint64_t ms = umbra_arg_u32(bi, "ms", 2000), bound = umbra_arg_u32(bi, "max_wait_us", 21000);
	uint64_t start, last, now, longest = 0;

	umbra_shared_init(0, 0);
	start = last = umbra_rdtsc();
	do {
		now = umbra_rdtsc();
		if (now - last > longest)
			longest = now - last;
		last = now;
	} while (now - start < ms * umbra_shared.tsc_khz);
	longest = longest * 1000 / umbra_shared.tsc_khz;
	umbra_printf("FIGURE longest wait for the CPU: %u us over %u ms\n", (uint32_t)longest,
		     (uint32_t)ms);
	if (longest <= bound)
		umbra_pass("latency: never kept from the CPU longer than the bound");
	else
		umbra_fail("latency: never kept from the CPU longer than the bound",
			   "waited %u us, bound %u us", (uint32_t)longest, (uint32_t)bound);
	return 0;
}
