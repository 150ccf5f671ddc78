/*
 * The 8259A interrupt controllers: remapped off the exception vectors at
 * boot, masks, and end-of-interrupt.
 */
#include "pic.h"
#include "cpu.h"
#include "desc.h"

#define PIC1_CMD	0x20
#define PIC1_DATA	0x21
#define PIC2_CMD	0xa0
#define PIC2_DATA	0xa1
#define ICW1_INIT_ICW4	0x11
#define ICW4_8086	0x01
#define OCW2_EOI	0x20
#define OCW3_READ_ISR	0x0b

static u16 mask = 0xffff;

static void write_mask(void)
{
	outb(PIC1_DATA, mask & 0xff);
	outb(PIC2_DATA, mask >> 8);
}

/*
 * The BIOS leaves the PIC delivering IRQ 0-7 on vectors 8-15, where the
 * CPU's own exceptions are; move them before anything can arrive.
 */
void pic_init(void)
{
	outb(PIC1_CMD, ICW1_INIT_ICW4);
	outb(PIC2_CMD, ICW1_INIT_ICW4);
	outb(PIC1_DATA, VEC_IRQ0);
	outb(PIC2_DATA, VEC_IRQ0 + 8);
	outb(PIC1_DATA, 1 << 2);	/* slave on IRQ 2 */
	outb(PIC2_DATA, 2);		/* slave identity */
	outb(PIC1_DATA, ICW4_8086);
	outb(PIC2_DATA, ICW4_8086);
	mask = 0xffff & ~(1u << 2);
	write_mask();
}

void pic_unmask(unsigned irq)
{
	mask &= ~(1u << irq);
	write_mask();
}

void pic_eoi(unsigned irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, OCW2_EOI);
	outb(PIC1_CMD, OCW2_EOI);
}

bool pic_in_service(unsigned irq)
{
	u16 port = irq >= 8 ? PIC2_CMD : PIC1_CMD;

	outb(port, OCW3_READ_ISR);
	return inb(port) & (1u << (irq % 8));
}
