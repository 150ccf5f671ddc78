/*
 * The native machine: penumbra in ring 0 on a PC. Real page tables and
 * CR3, the 8259 PICs and the PIT for time, the 16550 UART on COM1 for the
 * console, and QEMU's isa-debug-exit port to power off.
 */
#include "../machine.h"
#include "../kernel.h"
#include "desc.h"
#include "multiboot.h"
#include "x86.h"

#define PIC1		0x20
#define PIC2		0xa0
#define PIC_EOI		0x20
#define PIT_CH0		0x40
#define PIT_CMD		0x43
#define PIT_HZ		1193182u
#define COM1		0x3f8
#define UART_LSR_DR	0x01	/* data ready */
#define UART_LSR_THRE	0x20	/* transmitter holding register empty */
#define IRQ_TIMER	0
#define IRQ_COM1	4
#define DEBUG_EXIT	0xf4
/* QEMU exits with (value << 1) | 1: 0x10 gives 33 (success), 0x11 gives 35. */
#define DEBUG_EXIT_SUCCESS 0x10
#define DEBUG_EXIT_FAILURE 0x11

static uint32_t current_top;

/*
 * The expensive instructions this kernel executes, for counters(): every
 * CR3 load and invlpg from mach_init() on, and the descriptor-table loads
 * (desc.c's, once, at mach_init()).
 */
static uint64_t ncr3, ninvlpg;

static void load_cr3(uint32_t top)
{
	write_cr3(top);
	ncr3++;
}

static void flush_page(uint32_t va)
{
	invlpg(va);
	ninvlpg++;
}

/* Both PICs moved to vectors 32-47, only the timer and COM1 unmasked. */
static void pic_init(void)
{
	outb(PIC1, 0x11); outb(PIC2, 0x11);
	outb(PIC1 + 1, VEC_IRQ0); outb(PIC2 + 1, VEC_IRQ0 + 8);
	outb(PIC1 + 1, 4); outb(PIC2 + 1, 2);
	outb(PIC1 + 1, 1); outb(PIC2 + 1, 1);
	outb(PIC1 + 1, (uint8_t)~((1 << IRQ_TIMER) | (1 << IRQ_COM1)));
	outb(PIC2 + 1, 0xff);
}

static void pit_init(void)
{
	uint32_t div = PIT_HZ / TIMER_HZ;

	outb(PIT_CMD, 0x34);		/* channel 0, lobyte/hibyte, rate generator */
	outb(PIT_CH0, div & 0xff);
	outb(PIT_CH0, div >> 8);
}

static void uart_init(void)
{
	outb(COM1 + 1, 0x00);		/* no interrupts while we set it up */
	outb(COM1 + 3, 0x80);		/* DLAB */
	outb(COM1 + 0, 1);		/* 115200 baud */
	outb(COM1 + 1, 0);
	outb(COM1 + 3, 0x03);		/* 8N1 */
	outb(COM1 + 2, 0x07);		/* FIFOs on, an interrupt per byte */
	outb(COM1 + 4, 0x0b);		/* DTR, RTS, OUT2 (the IRQ line) */
	outb(COM1 + 1, 0x01);		/* interrupt on received data */
}

void mach_init(void)
{
	desc_init();
	pic_init();
	pit_init();
	uart_init();
	current_top = read_cr3();
}

const char *mach_name(void)
{
	return "native";
}

bool mach_irq_save(void)
{
	bool on = read_eflags() & EFLAGS_IF;

	__asm__ volatile("cli" ::: "memory");
	return on;
}

void mach_irq_restore(bool on)
{
	if (on)
		__asm__ volatile("sti" ::: "memory");
}

/* iret restores IF itself. */
void mach_irq_return(const struct trapframe *tf)
{
}

/* sti takes effect after the next instruction, so no interrupt slips in before hlt. */
void mach_idle(void)
{
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

void mach_irq(unsigned vector)
{
	unsigned irq = vector - VEC_IRQ0;
	char c;

	if (irq >= 8)
		outb(PIC2, PIC_EOI);
	outb(PIC1, PIC_EOI);
	if (irq == IRQ_TIMER) {
		clock_tick();
	} else if (irq == IRQ_COM1) {
		while (inb(COM1 + 5) & UART_LSR_DR) {
			c = (char)inb(COM1);
			console_input(&c, 1);
		}
	}
}

void mach_pte_write(uint32_t top, uint32_t va, unsigned level, void *slot, uint64_t value)
{
	pt_put(PT, slot, 0, value);
	if (top != current_top)
		return;
	if (level == PT_LEAF(PT))
		flush_page(va);
	else
		load_cr3(top);		/* the PDPT is read at CR3 loads */
}

void mach_pt_commit(void)
{
}

void mach_pt_protect(uint32_t top, uint32_t va, void *slot, uint64_t set)
{
	mach_pte_write(top, va, PT_LEAF(PT), slot, (pt_get(PT, slot, 0) & ~(uint64_t)PTE_W) | set);
}

void mach_pt_release(uint32_t top)
{
}

void mach_switch(uint32_t top, uint32_t kstack_top)
{
	if (top != current_top)
		load_cr3(top);
	current_top = top;
	desc_set_kstack(kstack_top);
}

void mach_console_write(const char *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			while (!(inb(COM1 + 5) & UART_LSR_THRE))
				;
			outb(COM1, '\r');
		}
		while (!(inb(COM1 + 5) & UART_LSR_THRE))
			;
		outb(COM1, (uint8_t)s[i]);
	}
}

uint64_t mach_rdtsc(void)
{
	uint64_t v;

	__asm__ volatile("rdtsc" : "=A"(v));
	return v;
}

uint32_t mach_fault_address(void)
{
	return read_cr2();
}

void mach_counters(struct pn_counters *c)
{
	*c = (struct pn_counters){ .pv = 0, .own_cr3_loads = ncr3, .own_invlpgs = ninvlpg,
				   .own_desc_loads = DESC_LOADS_AT_INIT };
}

void mach_poweroff(int status)
{
	outl(DEBUG_EXIT, status ? DEBUG_EXIT_FAILURE : DEBUG_EXIT_SUCCESS);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void native_start(const struct multiboot_info *mbi);

void native_start(const struct multiboot_info *mbi)
{
	(void)mbi;	/* read in native_boot, before the page tables overwrote it */
	kmain(&boot_params);
}
