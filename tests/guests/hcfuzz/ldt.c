/*
 * The LDT. The ABI gives the guest no LDT, so a selector with TI set must
 * raise #GP. If the hypervisor never loads a null LDTR, the CPU keeps the
 * one it was reset with (base 0, limit 0xffff): the guest's own memory at
 * linear 0-0xffff is then its LDT, and it can write descriptors there.
 *
 * ldt_probe() (every mode) writes a data descriptor at linear 0x2008 and
 * loads selector 0x200c: it must fault with #GP(0x200c).
 * ldt_escalate() (mode=ldt) writes a call gate to the hypervisor's code
 * segment 0x08 there and calls it from ring 1: on a broken hypervisor the
 * guest's code runs in ring 0 (it reads CR3 and returns).
 */
#include "fz.h"

#define LDT_SLOT	0x2008u		/* guest memory nothing else uses */
#define LDT_SEL		0x200cu		/* index 0x401, TI, RPL 0 */

u32 ldt_cs, ldt_cr3;

__asm__(".text\n"
	"ldt_ring0:\n"			/* reached through the call gate, if at all */
	"	cli\n"				/* legal only in ring 0: no interrupt in here */
	"	movw $0x3f8, %dx\n"		/* and so is this: the serial port, directly */
	"	movb $'R', %al\n	outb %al, %dx\n"
	"	movb $'I', %al\n	outb %al, %dx\n"
	"	movb $'N', %al\n	outb %al, %dx\n"
	"	movb $'G', %al\n	outb %al, %dx\n"
	"	movb $'0', %al\n	outb %al, %dx\n"
	"	movb $'\\n', %al\n	outb %al, %dx\n"
	"	movl %cs, %eax\n"
	"	movl %eax, ldt_cs\n"
	"	movl %cr3, %eax\n"
	"	movl %eax, ldt_cr3\n"
	"	sti\n"				/* takes effect after the lret */
	"	lret\n"
	".globl sn_ldt_call, sn_ldt_call_at, sn_ldt_call_after\n"
	"sn_ldt_call: popfl\n"
	"sn_ldt_call_at: lcall $0x200c, $0\n"
	"sn_ldt_call_after: pushfl\n"
	"	jmp fz_tail1\n");
extern char ldt_ring0[];
SNIP(sn_ldt_call);

void ldt_probe(void)
{
	volatile u32 *d = (volatile u32 *)(uintptr_t)LDT_SLOT;
	struct fz_in in;
	struct xtrap x;

	d[0] = 0x0000ffff;		/* data, DPL 1, base 0, limit 4 GiB-ish */
	d[1] = 0x00cfb300;
	random_gprs(&in);
	random_segs(&in, 1);
	in.eflags = 0x202;
	in.eax = LDT_SEL;
	fz_xesp = XSTK_TOP - 0x1000;
	run_op1(&in, sn_ld_fs, sn_ld_fs_at, sn_ld_fs_after);
	xtrap_for(&x, 13, 1, in.eflags, (u32)(uintptr_t)sn_ld_fs_at, fz_xesp, 0);
	x.err = LDT_SEL & 0xfffc;
	if (fz_ntraps == 0)
		violation("ldt", "selector 0x%x loaded: the guest's memory at linear 0 is an LDT "
			  "(a descriptor written at 0x%x works)", LDT_SEL, LDT_SLOT);
	else
		check_trap("ldt: loading an LDT selector", 0, &x);
	d[0] = d[1] = 0;
	fz_xesp = 0;
}

void ldt_escalate(void)
{
	volatile u32 *d = (volatile u32 *)(uintptr_t)LDT_SLOT;
	u32 off = (u32)(uintptr_t)ldt_ring0;
	struct fz_in in;

	/* A 32-bit call gate, DPL 3, to 0x08:ldt_ring0. */
	d[0] = (off & 0xffff) | (0x08u << 16);
	d[1] = (off & 0xffff0000u) | 0xec00;
	random_gprs(&in);
	in.ds = in.es = in.fs = in.gs = UMBRA_KERNEL_DS;
	in.eflags = 0x202;
	fz_xesp = XSTK_TOP - 0x1000;
	umbra_printf("hcfuzz: calling through an LDT call gate to 0x08:0x%x\n", off);
	run_op1(&in, sn_ldt_call, sn_ldt_call_at, sn_ldt_call_after);
	if (ldt_cs)
		violation("ldt", "a call gate the guest wrote at linear 0x%x took ring 1 to ring 0 "
			  "(cs 0x%x, read cr3 0x%x)", LDT_SLOT, ldt_cs, ldt_cr3);
	else
		umbra_printf("hcfuzz: the LDT call gate did not work (%u traps, first vector %u error 0x%x)\n",
			     fz_ntraps, fz_ntraps ? fz_traps[0].f.vector : 0,
			     fz_ntraps ? fz_traps[0].f.error : 0);
	d[0] = d[1] = 0;
	fz_xesp = 0;
}
