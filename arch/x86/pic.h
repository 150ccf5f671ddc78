/* The 8259A interrupt controllers, remapped to vectors 32-47. */
#ifndef UMBRA_ARCH_PIC_H
#define UMBRA_ARCH_PIC_H

#define PIC_IRQS	16

void pic_init(void);	/* remap, everything masked */
void pic_unmask(unsigned irq);
void pic_eoi(unsigned irq);

#endif
