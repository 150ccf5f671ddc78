#ifndef PENUMBRA_DESC_H
#define PENUMBRA_DESC_H

#include <stdint.h>

#define KERNEL_CS	0x18
#define KERNEL_DS	0x20
#define TSS_SEL		0x38

/* desc_init() loads the GDT, the IDT and the task register, once each. */
#define DESC_LOADS_AT_INIT	3

void desc_init(void);
void desc_set_kstack(uint32_t esp0);

#endif
