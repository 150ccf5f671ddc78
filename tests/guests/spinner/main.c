/*
 * A guest that never gives the CPU back: no yield, no halt, no hypercall
 * after its first line. Preemption must let the other guests finish, and
 * timeout= on its module line must end it.
 *
 * The loop is a bare jump, not a pause loop: under QEMU's -icount a
 * pause loop stops the virtual clock, and with it every timer.
 */
#include <umbra/runtime.h>

int guest_main(const struct umbra_boot_info *bi)
{
	umbra_printf("%s: spinning forever\n", bi->name);
	for (;;)
		__asm__ volatile("");
}
