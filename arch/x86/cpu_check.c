/*
 * The first C code to run: can this CPU run umbra at all?
 *
 * The rest of the hypervisor is compiled for the i686, so the compiler puts
 * CMOV wherever it likes; on a CPU without it the first kprintf would raise
 * #UD before any IDT exists, and the machine would triple-fault and reset
 * without a word. This file alone is compiled for the i386 (the Makefile
 * checks its object for any newer instruction), so it runs on every 32-bit
 * x86. It asks CPUID for what the rest of the code uses and, if anything is
 * missing, says what in one line on COM1 and the screen, then ends the run
 * the way power_off() would, with a status of its own.
 */
#include "cpu_check.h"
#include "cpu.h"
#include "debug_exit.h"
#include "../../boot/multiboot.h"

#define EFLAGS_ID	(1u << 21)	/* toggles only where CPUID exists */

/* CPUID.01H:EDX (Intel SDM vol. 2A, CPUID, table 3-11). */
#define CPUID_PSE	(1u << 3)
#define CPUID_TSC	(1u << 4)
#define CPUID_PAE	(1u << 6)
#define CPUID_CMOV	(1u << 15)
#define CPUID_FXSR	(1u << 24)

#define COM1		0x3f8
#define UART_DATA	0	/* DLL when DLAB is set */
#define UART_IER	1	/* DLM when DLAB is set */
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define LCR_8N1		0x03
#define LCR_DLAB	0x80
#define FCR_ENABLE_CLEAR 0xc7	/* FIFOs on and emptied */
#define MCR_DTR_RTS_OUT2 0x0b
#define LSR_THR_EMPTY	0x20
#define BAUD_DIVISOR	1	/* 115200 = 1.8432 MHz / 16 / 1 */
#define UART_SPINS	100000		/* no UART at all must not hang us */

#define VGA_TEXT	((volatile u16 *)0xb8000)
#define VGA_CELLS	(80 * 25)
#define VGA_ATTR	0x0700		/* light grey on black, as vga.c */

struct feature {
	u32 bit;		/* in CPUID.01H:EDX */
	const char *missing;	/* what the refusal says without it */
	bool needed;		/* by this build */
};

/* What the code really uses, and where. */
static const struct feature features[] = {
	{ CPUID_CMOV, "no CMOV", true },	/* anywhere: -march=i686 */
	{ CPUID_TSC, "no TSC", true },		/* every clock, slice and deadline */
	{ CPUID_FXSR, "no FXSR", true },	/* fpu.c: each guest's FPU state */
	{ CPUID_PSE, "no PSE (needed by the 2-level build)", !UMBRA_PAE },	/* hvmap's 4 MiB pages */
	{ CPUID_PAE, "no PAE (needed by the PAE build)", UMBRA_PAE },
};

/* The refusal, built up before it is sent. */
static char line[256];
static unsigned len;

static void put(const char *s)
{
	while (*s && len < sizeof(line) - 1)
		line[len++] = *s++;
}

static void put_dec(u32 v)
{
	char digits[10];
	unsigned n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && len < sizeof(line) - 1)
		line[len++] = digits[--n];
}

static bool has_cpuid(void)
{
	u32 before, after;

	__asm__ volatile("pushfl\n\t"
			 "popl %0\n\t"
			 "movl %0, %1\n\t"
			 "xorl %2, %1\n\t"
			 "pushl %1\n\t"
			 "popfl\n\t"
			 "pushfl\n\t"
			 "popl %1\n\t"
			 "pushl %0\n\t"
			 "popfl"
			 : "=&r"(before), "=&r"(after) : "i"(EFLAGS_ID) : "cc");
	return (before ^ after) & EFLAGS_ID;
}

/*
 * "GenuineIntel family 6 model 3" into the line, enough to look the CPU up;
 * CPUID.01H:EDX into *edx1 (0 without leaf 1).
 */
static void put_cpu_name(u32 *edx1)
{
	struct cpuid_regs r = cpuid(0);
	u32 max = r.eax, vendor[4] = { r.ebx, r.edx, r.ecx, 0 }, sig, family, model;

	put((const char *)vendor);
	*edx1 = 0;
	if (max < 1)
		return;
	r = cpuid(1);
	sig = r.eax;
	*edx1 = r.edx;
	family = (sig >> 8) & 0xf;
	model = (sig >> 4) & 0xf;
	/* Extended family for family 15, extended model for 6 and 15 (SDM vol. 2A, CPUID). */
	if (family == 0xf)
		family += (sig >> 20) & 0xff;
	if (family == 0x6 || family >= 0xf)
		model |= (sig >> 12) & 0xf0;
	put(" family ");
	put_dec(family);
	put(" model ");
	put_dec(model);
}

/* The line of what is missing; false if nothing is. */
static bool build_refusal(void)
{
	bool missing = false;
	u32 edx1;

	put("umbra: this CPU (");
	if (!has_cpuid()) {
		put("a 386 or an early 486) cannot run umbra: no CPUID");
		return true;
	}
	put_cpu_name(&edx1);
	put(") cannot run umbra: ");
	for (unsigned i = 0; i < ARRAY_SIZE(features); i++) {
		if (!features[i].needed || (edx1 & features[i].bit))
			continue;
		if (missing)
			put(", ");
		put(features[i].missing);
		missing = true;
	}
	return missing;
}

/* The same 115200 8N1 as uart.c, which is compiled for the i686. */
static void serial_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DATA, BAUD_DIVISOR & 0xff);
	outb(COM1 + UART_IER, BAUD_DIVISOR >> 8);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, FCR_ENABLE_CLEAR);
	outb(COM1 + UART_MCR, MCR_DTR_RTS_OUT2);
}

static void serial_putc(char c)
{
	for (unsigned i = 0; i < UART_SPINS && !(inb(COM1 + UART_LSR) & LSR_THR_EMPTY); i++)
		;
	outb(COM1 + UART_DATA, (u8)c);
}

static void serial_write(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			serial_putc('\r');
		serial_putc(*s);
	}
}

/* The screen, cleared, with the line at the top (wrapped at 80 columns). */
static void vga_write(const char *s)
{
	unsigned i;

	for (i = 0; i < VGA_CELLS; i++)
		VGA_TEXT[i] = VGA_ATTR | ' ';
	for (i = 0; s[i] && s[i] != '\n' && i < VGA_CELLS; i++)
		VGA_TEXT[i] = VGA_ATTR | (u8)s[i];
}

/* The word at p starts with s; with whole, it is s. */
static bool word_is(const char *p, const char *s, bool whole)
{
	while (*s && *p == *s)
		p++, s++;
	return !*s && (!whole || !*p || *p == ' ');
}

/* exit=halt on the command line, as parse_hv_options() reads it: the last exit= wins. */
static bool exit_halts(u32 magic, const struct mb_info *mbi)
{
	const char *start, *p;
	bool halt = false;

	if (magic != MB_BOOTLOADER_MAGIC || !(mbi->flags & MB_INFO_CMDLINE))
		return false;
	start = (const char *)(uintptr_t)mbi->cmdline;
	for (p = start; *p; p++)
		if (*p != ' ' && (p == start || p[-1] == ' ') && word_is(p, "exit=", false))
			halt = word_is(p, "exit=halt", true);
	return halt;
}

void cpu_check(u32 magic, const struct mb_info *mbi)
{
	if (!build_refusal())
		return;
	put("\n");
	line[len] = 0;
	serial_init();
	serial_write(line);
	vga_write(line);
	if (!exit_halts(magic, mbi))
		outl(DEBUG_EXIT_PORT, DEBUG_EXIT_CPU);
	serial_write("umbra: halted\n");
	halt_forever();
}
