/* Hostile: a hypercall number the hypervisor does not know must end this guest. */
#include <umbra/runtime.h>

int guest_main(const struct umbra_boot_info *bi)
{
	umbra_printf("calling hypercall 999\n");
	umbra_hcall(999, 0, 0, 0, 0);
	umbra_fail("hcall_unknown", "still running after hypercall 999");
	return 1;
}
