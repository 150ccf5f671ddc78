/*
 * A guest of your own, built outside the umbra tree (see the Makefile
 * beside this file) and booted by tools/umbra-boot, as a CI job would. It
 * makes three checks and prints one PASS or FAIL line for each, which
 * umbra-boot turns into JUnit test cases, and exits with the number of
 * checks that failed. mem_kib= on its module line says how much memory it
 * should find; give it a wrong value to see a failure reported.
 */
#include <umbra/runtime.h>

static int failed;

static void check(int ok, const char *what, const char *why)
{
	if (ok) {
		umbra_pass(what);
	} else {
		umbra_fail(what, "%s", why);
		failed++;
	}
}

int guest_main(const struct umbra_boot_info *bi)
{
	uint32_t kib = bi->mem_bytes / 1024;
	uint32_t want = umbra_arg_u32(bi, "mem_kib", kib);
	volatile uint64_t big = 10000000000ull;	/* volatile: divide at run time, in libgcc */
	char why[64];

	umbra_printf("ci-guest %s: %u KiB of memory\n", bi->name, kib);
	umbra_snprintf(why, sizeof(why), "%u KiB, expected %u KiB", kib, want);
	check(kib == want, "memory size", why);
	check(big / 7 == 1428571428ull, "64-bit division", "wrong quotient");
	check(bi->magic == UMBRA_BOOT_MAGIC && bi->abi_version == UMBRA_ABI_VERSION,
	      "boot information", "wrong magic or ABI version");
	return failed;
}
