/*
 * Hostile: console_write with a buffer the guest does not own. With
 * where=beyond the buffer starts past the end of guest memory; with
 * where=cross it starts in memory and runs off the end; with where=null it
 * is the unmapped page 0; with where=huge the length is absurd. Each must
 * end the guest.
 *
 * where=escape is not hostile to the hypervisor but to the operator's
 * terminal: control bytes (ESC, CSI 0x9b, DEL, 0xff, SOH) must reach the
 * console as '?', and the guest goes on.
 */
#include <umbra/runtime.h>

int guest_main(const struct umbra_boot_info *bi)
{
	char where[16];
	uint32_t addr = bi->mem_bytes + 0x1000, len = 16;

	if (!umbra_arg(bi, "where", where, sizeof(where)))
		where[0] = '\0';
	if (where[0] == 'e') {
		static const char line[] = "A\x1b[31mB\x9b" "2JC\x7f" "D\xff" "E\x01" "F\n";

		umbra_console_write(line, sizeof(line) - 1);
		return 0;
	}
	if (where[0] == 'c')
		addr = bi->mem_bytes - 8;
	else if (where[0] == 'n')
		addr = 0x10;
	else if (where[0] == 'h')
		addr = 0x100000, len = 0x7fffffff;
	umbra_printf("console_write(0x%x, %u)\n", addr, len);
	umbra_console_write((const char *)addr, len);
	umbra_fail("console_bad", "still running after a bad console_write");
	return 1;
}
