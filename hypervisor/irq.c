/* Hardware interrupts. None is routed anywhere yet: acknowledge and go on. */
#include "../arch/x86/desc.h"
#include "../arch/x86/pic.h"
#include "../arch/x86/trap.h"

void irq_dispatch(unsigned vector)
{
	pic_eoi(vector - VEC_IRQ0);
}
