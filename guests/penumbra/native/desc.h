#ifndef PENUMBRA_DESC_H
#define PENUMBRA_DESC_H

#include <stdint.h>

#define KERNEL_CS	0x18
#define KERNEL_DS	0x20
#define TSS_SEL		0x38

void desc_init(void);
void desc_set_kstack(uint32_t esp0);

#endif
