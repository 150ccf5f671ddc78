/*
 * A guest that talks a lot at once: lines= numbered lines of text, 32 to
 * a console_write (about 2 KiB, under the per-call cap), as fast as it can.
 * Beside the latency guest, with the console read at a real UART's pace,
 * it shows whether console output holds the CPU while the UART drains; the
 * harness checks that every line arrived whole and in order.
 */
#include <umbra/runtime.h>

#define PER_CALL	32
#define LINE		"%04u the quick brown fox jumps over the lazy dog %04u\n"

int guest_main(const struct umbra_boot_info *bi)
{
	uint32_t lines = umbra_arg_u32(bi, "lines", 192);
	static char buf[PER_CALL * 64];

	for (uint32_t i = 0; i < lines; i += PER_CALL) {
		int len = 0;

		for (uint32_t j = i; j < lines && j < i + PER_CALL; j++)
			len += umbra_snprintf(buf + len, sizeof(buf) - len, LINE, j, j);
		umbra_console_write(buf, (size_t)len);
	}
	umbra_pass("talker: every line was written");
	return 0;
}
