/*
 * Random byte strings run as code: in ring 3 from a user page (op_code3),
 * and for mode=ring1 in ring 1 under a page table that maps the fuzzer's
 * image read-only (op_code1). Either may loop: a timer with irq_enabled set
 * is the watchdog. Every trap ends the run; what can be checked of an
 * unknown instruction is that its frame is a proper one.
 */
#include "fz.h"

/* Bytes that make interesting instructions more likely. */
static u8 random_byte(void)
{
	static const u8 hot[] = { 0xcd, 0xcc, 0xce, 0xf1, 0x9d, 0x9c, 0xcf, 0xca, 0xcb, 0x8e, 0x8c,
				  0x0f, 0x01, 0x00, 0x34, 0x35, 0x05, 0x0b, 0x9a, 0xea, 0x62, 0xf4,
				  0xfa, 0xfb, 0xe4, 0xec, 0x17, 0x07, 0x1f, 0xc4, 0xc5, 0xb2, 0xf0,
				  0x66, 0x67, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0xd8, 0xdf,
				  0x48, 0x50, 0x58, 0xff, 0x82, 0xfe, 0x20, 0x22, 0x02, 0x03 };

	return chance(40) ? PICK(hot) : (u8)rnd();
}

/*
 * Ring-1 code that loads esp with junk gets the guest killed (the next
 * frame has nowhere to go), which ends the run: most ways of writing esp
 * are taken out. What remains (and ss) still ends some runs.
 */
static void keep_esp(u8 *p, u32 len)
{
	static const u8 to_reg[] = { 0x8b, 0x03, 0x2b, 0x33, 0x23, 0x0b, 0x13, 0x1b, 0x8d, 0x8a,
				     0xc5, 0x69, 0x6b };
	static const u8 to_rm[] = { 0x89, 0x01, 0x29, 0x31, 0x21, 0x09, 0x11, 0x19, 0x87, 0x81,
				    0x83, 0xc1, 0xd1, 0xf7, 0xff, 0xc7, 0xd3, 0x85, 0x8f, 0x8c,
				    0xc0, 0xd0, 0xd2, 0xf6, 0x80, 0x0f };

	for (u32 i = 0; i < len; i++) {
		u8 b = p[i];

		if (b == 0x5c || b == 0x94 || b == 0xbc || b == 0xc9 || b == 0xca || b == 0xcb ||
		    b == 0x17 || b == 0xc4 || b == 0xc2 || b == 0xc8)
			p[i] = 0x90;
		if (i + 1 >= len)
			continue;
		for (unsigned k = 0; k < sizeof(to_reg); k++)
			if (b == to_reg[k] && ((p[i + 1] >> 3) & 7) == 4)
				p[i + 1] ^= 0x08;
		for (unsigned k = 0; k < sizeof(to_rm); k++)
			if (b == to_rm[k] && (p[i + 1] & 0xc7) == 0xc4)
				p[i + 1] ^= 0x01;
		if (b == 0x8e && ((p[i + 1] >> 3) & 7) == 2)	/* mov to ss */
			p[i + 1] ^= 0x08;
		if (b == 0x0f && p[i + 1] == 0xb2)		/* lss */
			p[i + 1] = 0x1f;
	}
}

static void random_code(u8 *p, u32 len, u32 room)
{
	for (u32 i = 0; i < len; i++)
		p[i] = random_byte();
	/* No hypercalls: no CD 82 anywhere. */
	for (u32 i = 0; i + 1 < len; i++)
		if (p[i] == 0xcd && p[i + 1] == 0x82)
			p[i + 1] = 0x83;
	if (len && p[len - 1] == 0xcd)
		p[len - 1] = 0x90;
	/* QEMU's iret honours EFLAGS.VM below ring 0: keep out of virtual-8086 mode */
	for (u32 i = 0; !fz_iret_vm && i < len; i++)
		if (p[i] == 0xcf)
			p[i] = 0x90;
	/*
	 * QEMU 7.2's TCG aborts (tcg.c: "tcg fatal error") translating a
	 * locked bt, bts, btr or btc whose operand is a register (f0 0f a3 cd):
	 * the register forms of that family are taken out. What follows the
	 * random bytes (an int, or int3 fill) is a register ModRM too.
	 */
	for (u32 i = 0; i + 1 < len; i++)
		if (p[i] == 0x0f && (p[i + 1] == 0xa3 || p[i + 1] == 0xab || p[i + 1] == 0xb3 ||
				     p[i + 1] == 0xbb || p[i + 1] == 0xba) &&
		    (i + 2 >= len || p[i + 2] >= 0xc0))
			p[i] = 0x90;
	/* skip=df: no popf or std either, which would hand the hypervisor DF */
	for (u32 i = 0; (fz_skip & SKIP_DF) && i < len; i++)
		if (p[i] == 0x9d || p[i] == 0xfd)
			p[i] = 0x90;
	for (u32 i = len; i < room; i++)
		p[i] = 0xcc;
}

/* A watchdog for code that may loop: the timer, delivered because irq_enabled is set. */
static void watchdog(void)
{
	u64 ns = 2000000 + rn(3000000);

	timer_quiesce();
	hc_plain(UMBRA_HC_SET_TIMER, (u32)ns, 0, 0, 0);
	M.timer_armed = 1;
	M.timer_clean = 1;
	M.pending_possible = 1;
	M.timer_ns = ns;
	M.timer_t0 = umbra_rdtsc();
}

void op_code3(void)
{
	u8 *code = (u8 *)(uintptr_t)UCODE;
	u32 len = 1 + rn(48);
	struct fz_in in;

	random_code(code, len, 0x1000);
	code[len] = 0xcd, code[len + 1] = RET_VEC;
	in.eax = USTK + rn(0x2000), in.ebx = USTK + rn(0x2000), in.ecx = rn(3) ? USTK + rn(0x2000) : rnd();
	in.edx = UCODE + rn(0x1000), in.esi = USTK + rn(0x2000), in.edi = USTK + rn(0x2000);
	in.ebp = USTK + 0x1000 + rn(0x1000), in.esp_ = 0;
	random_segs(&in, 3);
	in.eflags = random_eflags();
	if (fz_trace) {
		char hex[3 * 49 + 1];

		for (u32 i = 0; i < len; i++)
			umbra_snprintf(hex + 3 * i, 4, " %02x", code[i]);
		trace("op %u: ring-3 code, %u bytes:%s", fz_op, len, hex);
	}
	watchdog();
	M.irq = 1;
	fz_escape_all = 1;
	run_op3(&in, (char *)code, (char *)code, 0);
	fz_escape_all = 0;
	M.irq = 0;
	timer_quiesce();
	/* What can be checked of an unknown instruction: the frame is a ring-3 frame. */
	if (fz_ntraps) {
		const struct fz_trap *t = &fz_traps[0];
		const struct fz_frame *f = &t->f;
		char name[32];

		umbra_snprintf(name, sizeof(name), "ring-3 code vector %u", f->vector);
		if ((f->cs & 3) != 3 || (f->ss & 3) != 3)
			violation(name, "frame cs/ss 0x%x/0x%x are not ring 3's", f->cs, f->ss);
		if (t->frame_at != M.esp1 - 20)
			violation(name, "frame at 0x%x, expected 0x%x", t->frame_at, M.esp1 - 20);
		if (f->hflags & (F_TF | F_NT | F_VM | F_IOPL) || !(f->hflags & F_IF))
			violation(name, "handler runs with eflags 0x%x", f->hflags);
		if (f->eflags & (F_IOPL | F_VM) || !(f->eflags & F_IF))
			violation(name, "frame eflags 0x%x", f->eflags);
		if (f->vector == 2 || f->vector == 7 || f->vector == 8 || f->vector == 18 ||
		    !gate_present(f->vector))
			violation(name, "reached the guest (gate %s)", gate_present(f->vector) ? "yes" : "no");
		/*
		 * U clear from ring 3: an implicit supervisor access (a descriptor read,
		 * say from the LDT the guest should not have), or QEMU's far return,
		 * which reads the stack as the supervisor. The hypervisor passes it on.
		 */
		if (f->vector == 14 && !(f->error & 4))
			note("ring-3 page fault", "error code 0x%x without U (cr2 0x%x): a supervisor "
			     "access made for ring 3", f->error, t->cr2);
		if (t->hcs != UMBRA_KERNEL_CS)
			violation(name, "handler cs 0x%x", t->hcs);
	} else {
		violation("ring-3 code", "came back without a trap");
	}
}

extern u32 fz_sandbox;

/* mode=ring1: random ring-1 code under a table that hides everything that matters. */
void op_code1(void)
{
	u8 *code = (u8 *)(uintptr_t)SBX_CODE;
	u32 len = 1 + rn(32);
	struct fz_in in;

	code[0] = 0x9d;		/* popfl: the chosen EFLAGS */
	random_code(code + 1, len, 0xfff);
	keep_esp(code + 1, len + 1);	/* with the first int3 after it: cc is also a ModRM for esp */
	random_gprs(&in);
	in.eax = SBX + rn(0xf000), in.ebx = SBX + rn(0xf000), in.ecx = SBX + rn(0xf000);
	in.edx = SBX + rn(0xf000), in.esi = SBX + rn(0xf000), in.edi = SBX + rn(0xf000);
	in.ebp = SBX + rn(0xf000);
	random_segs(&in, 1);
	in.eflags = random_eflags();
	in.eip = SBX_CODE;
	in.ss = UMBRA_KERNEL_DS;
	fz_xesp = SBX + 0x1000 + 4 * rn(0x3800);
	if (fz_trace) {
		char hex[3 * 65 + 1];

		for (u32 i = 0; i < len; i++)
			umbra_snprintf(hex + 3 * i, 4, " %02x", code[1 + i]);
		trace("op %u: ring-1 code, %u bytes, esp 0x%x:%s", fz_op, len, fz_xesp, hex);
	}
	watchdog();
	fz_in = in;
	fz_ntraps = 0;
	fz_sandbox_run(M.sbx_top, cur_top());
	fz_sandbox = 0;
	fz_xesp = 0;
	S->irq_enabled = 0;
	M.irq = 0;
	timer_quiesce();
	if ((fz_sbx_rw[3] & 3) == 0 || fz_sbx_rw[0] > 255)
		violation("ring-1 code", "trap frame: vector %u cs 0x%x eip 0x%x", fz_sbx_rw[0],
			  fz_sbx_rw[3], fz_sbx_rw[1]);
}
