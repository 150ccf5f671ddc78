/* A guest that touches page 0, which stays unmapped: it must be killed, naming the address. */
#include <umbra/runtime.h>

int guest_main(const struct umbra_boot_info *bi)
{
	volatile uint32_t *p;

	/* Hide the constant from the compiler, which rightly objects to it. */
	__asm__("mov $8, %0" : "=r"(p));
	umbra_printf("reading address 0x8\n");
	umbra_printf("read 0x%x\n", *p);
	umbra_fail("null_deref", "reading page 0 did not fault");
	return 1;
}
