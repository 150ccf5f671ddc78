/* The 8259A interrupt controllers, remapped to vectors 32-47. */
#ifndef UMBRA_ARCH_PIC_H
#define UMBRA_ARCH_PIC_H

#include "../../lib/types.h"

#define PIC_IRQS	16
#define PIC_CASCADE_IRQ	2	/* the slave PIC's line on the master */

void pic_init(void);	/* remap, everything masked */
void pic_unmask(unsigned irq);
void pic_eoi(unsigned irq);
bool pic_in_service(unsigned irq);	/* its bit in the in-service register */

#endif
