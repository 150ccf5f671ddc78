/*
 * The execution engine: run one snippet with every register, segment
 * register and EFLAGS bit chosen by the fuzzer, and capture what the CPU
 * and the hypervisor left behind.
 *
 * Ring 1 (fz_run1): the engine pushes the snippet's address and EFLAGS on
 * the op's own stack (fz_xesp), pops the segment and general registers,
 * and `ret`s into the snippet, which is
 *	popfl; <op>; pushfl; jmp fz_tail1
 * so nothing but the op runs between the chosen EFLAGS and the captured
 * ones. fz_tail1 saves every register into fz_out and unwinds to C.
 *
 * Ring 3 (fz_run3): iret straight into a user snippet, <op>; int $RET_VEC,
 * whose handler reads the registers from its frame and escapes to C.
 *
 * Traps: the fuzzer's own 256 stubs (not the runtime's: they must cope
 * with any data segment and with a stack segment that is not flat), which
 * record the frame in fz_traps[], then resume, skip the faulting
 * instruction, or escape back to the C caller of fz_run1/fz_run3.
 */
#include "fz.h"

struct fz_in fz_in;
struct fz_out fz_out;
u32 fz_out_ss;
u32 fz_xesp, fz_resume, fz_fault_at;
int fz_escape_all, fz_escaped;
u32 fz_kesp __attribute__((used));
u32 fz_ss_base __attribute__((used));		/* base of a non-flat ring-1 ss */
u32 fz_saved_ss __attribute__((used));
struct fz_trap fz_traps[MAXTRAPS];
unsigned fz_ntraps;
u32 fz_bound_pair[2] = { 0x100, 0x1000 };
volatile struct umbra_shared *S = &umbra_shared;

/*
 * The ring-1 sandbox (mode=ring1) runs under a page table that maps this
 * image read-only: what the escape path writes lives in this page.
 */
u32 fz_sbx_rw[1024] __attribute__((aligned(4096), used));	/* vector, eip, error, cs */
u32 fz_sandbox __attribute__((used));
u32 fz_main_top __attribute__((used)), fz_sbx_top __attribute__((used));

__asm__(
	".text\n"
	/* ---- ring 1 ---- */
	".globl fz_run1\n"
	"fz_run1:\n"
	"	pushal\n"
	"	pushfl\n"
	"	movl %esp, fz_kesp\n"
	"	movl $fz_in, %esi\n"
	"	movl fz_xesp, %esp\n"
	"	pushl 56(%esi)\n"		/* eflags, for the snippet's popfl */
	"	pushl 48(%esi)\n"		/* eip: the snippet, for ret */
	"	pushl 44(%esi)\n"
	"	pushl 40(%esi)\n"
	"	pushl 36(%esi)\n"
	"	pushl 32(%esi)\n"
	"	pushl 28(%esi)\n"
	"	pushl 24(%esi)\n"
	"	pushl 20(%esi)\n"
	"	pushl 16(%esi)\n"
	"	pushl 12(%esi)\n"
	"	pushl 8(%esi)\n"
	"	pushl 4(%esi)\n"
	"	pushl 0(%esi)\n"
	"	movl 64(%esi), %eax\n"		/* ss: the kernel's, or a TLS segment */
	"	cmpl $0x21, %eax\n"
	"	je 1f\n"
	"	movl %esp, %ebx\n"
	"	subl fz_ss_base, %ebx\n"
	"	movl %eax, %ss\n"
	"	movl %ebx, %esp\n"
	"1:	popl %gs\n"
	"	popl %fs\n"
	"	popl %es\n"
	"	popl %ds\n"
	"	popal\n"
	"	ret\n"

	".globl fz_tail1\n"
	"fz_tail1:\n"
	"	pushal\n"
	"	movl %ds, %eax\n"
	"	pushl %eax\n"
	"	movl %es, %eax\n"
	"	pushl %eax\n"
	"	movl %fs, %eax\n"
	"	pushl %eax\n"
	"	movl %gs, %eax\n"
	"	pushl %eax\n"
	"	movl $0x21, %eax\n"
	"	movl %eax, %ds\n"
	"	movl %eax, %es\n"
	"	movl %eax, %fs\n"
	"	movl %eax, %gs\n"
	"	cld\n"
	"	movl %ss, %eax\n"
	"	movl %eax, fz_out_ss\n"
	"	movl %esp, %esi\n"
	"	cmpl $0x21, %eax\n"
	"	je 1f\n"
	"	addl fz_ss_base, %esi\n"
	"1:	movl $fz_out, %edi\n"
	"	movl $13, %ecx\n"
	"	rep movsl\n"
	"	movl $0x21, %eax\n"
	"	movl %eax, %ss\n"
	"	movl fz_kesp, %esp\n"
	"	popfl\n"
	"	popal\n"
	"	ret\n"

	/* ---- ring 3 ---- */
	".globl fz_run3\n"
	"fz_run3:\n"
	"	pushal\n"
	"	pushfl\n"
	"	movl %esp, fz_kesp\n"
	"	movl $fz_in, %esi\n"
	"	pushl 64(%esi)\n"		/* ss */
	"	pushl 60(%esi)\n"		/* esp */
	"	pushl 56(%esi)\n"		/* eflags */
	"	pushl 52(%esi)\n"		/* cs */
	"	pushl 48(%esi)\n"		/* eip */
	"	pushl 44(%esi)\n"
	"	pushl 40(%esi)\n"
	"	pushl 36(%esi)\n"
	"	pushl 32(%esi)\n"
	"	pushl 28(%esi)\n"
	"	pushl 24(%esi)\n"
	"	pushl 20(%esi)\n"
	"	pushl 16(%esi)\n"
	"	pushl 12(%esi)\n"
	"	pushl 8(%esi)\n"
	"	pushl 4(%esi)\n"
	"	pushl 0(%esi)\n"
	"	popl %gs\n"
	"	popl %fs\n"
	"	popl %es\n"
	"	popl %ds\n"
	"	popal\n"
	"	iret\n"

	/* Back to the C caller of fz_run1/fz_run3/fz_sandbox_run, from anywhere. */
	".globl fz_escape\n"
	"fz_escape:\n"
	"	movl $0x21, %eax\n"
	"	movl %eax, %ss\n"
	"	movl fz_kesp, %esp\n"
	"	movl %eax, %ds\n"
	"	movl %eax, %es\n"
	"	movl %eax, %fs\n"
	"	movl %eax, %gs\n"
	"	popfl\n"
	"	popal\n"
	"	ret\n"

	/* ---- the ring-1 sandbox ---- */
	".globl fz_sandbox_run\n"
	"fz_sandbox_run:\n"			/* (sbx_top, main_top) */
	"	movl 4(%esp), %eax\n"
	"	movl %eax, fz_sbx_top\n"
	"	movl 8(%esp), %eax\n"
	"	movl %eax, fz_main_top\n"
	"	pushal\n"
	"	pushfl\n"
	"	movl %esp, fz_kesp\n"
	"	movl $1, fz_sandbox\n"
	"	movl fz_xesp, %esp\n"		/* a stack mapped in both tables */
	"	movl S, %eax\n"
	"	movl $1, (%eax)\n"		/* irq_enabled: the watchdog timer may fire */
	"	movl $11, %eax\n"		/* NEW_PGTABLE(sandbox) */
	"	movl fz_sbx_top, %ebx\n"
	"	int $0x82\n"
	"	movl $fz_in, %esi\n"
	"	pushl 56(%esi)\n"
	"	pushl 48(%esi)\n"
	"	pushl 44(%esi)\n"
	"	pushl 40(%esi)\n"
	"	pushl 36(%esi)\n"
	"	pushl 32(%esi)\n"
	"	pushl 28(%esi)\n"
	"	pushl 24(%esi)\n"
	"	pushl 20(%esi)\n"
	"	pushl 16(%esi)\n"
	"	pushl 12(%esi)\n"
	"	pushl 8(%esi)\n"
	"	pushl 4(%esi)\n"
	"	pushl 0(%esi)\n"
	"	popl %gs\n"
	"	popl %fs\n"
	"	popl %es\n"
	"	popl %ds\n"
	"	popal\n"
	"	ret\n"
	"fz_sbx_escape:\n"			/* ds is the kernel's, ss may be anything */
	"	movl 52(%esp), %eax\n"
	"	movl %eax, fz_sbx_rw\n"
	"	movl 60(%esp), %eax\n"
	"	movl %eax, fz_sbx_rw+4\n"
	"	movl 56(%esp), %eax\n"
	"	movl %eax, fz_sbx_rw+8\n"
	"	movl 64(%esp), %eax\n"
	"	movl %eax, fz_sbx_rw+12\n"
	"	movl $11, %eax\n"		/* NEW_PGTABLE(main) */
	"	movl fz_main_top, %ebx\n"
	"	int $0x82\n"
	"	jmp fz_escape\n"

	/* ---- trap stubs, 16 bytes each ---- */
	".balign 16\n"
	"fz_stubs:\n"
	".set v, 0\n"
	".rept 256\n"
	"1:\n"
	".if (v == 8) || (v >= 10 && v <= 14) || (v == 17) || (v == 21) || (v == 29) || (v == 30)\n"
	"	nop; nop\n"
	".else\n"
	"	pushl $0\n"
	".endif\n"
	"	pushl $v\n"
	"	jmp fz_trap_common\n"
	"	.fill 16 - (. - 1b), 1, 0xcc\n"
	".set v, v + 1\n"
	".endr\n"
	"fz_trap_common:\n"
	"	pushfl\n"			/* the handler's own EFLAGS, untouched */
	"	pushal\n"
	"	movl %ds, %eax\n"
	"	pushl %eax\n"
	"	movl %es, %eax\n"
	"	pushl %eax\n"
	"	movl %fs, %eax\n"
	"	pushl %eax\n"
	"	movl %gs, %eax\n"
	"	pushl %eax\n"
	"	movl $0x21, %eax\n"
	"	movl %eax, %ds\n"
	"	movl %eax, %es\n"
	"	cld\n"
	"	cmpl $0, fz_sandbox\n"
	"	jne fz_sbx_escape\n"
	"	movl %ss, %eax\n"
	"	cmpl $0x21, %eax\n"
	"	jne 2f\n"
	"	pushl %esp\n"
	"	call fz_trap_c\n"
	"	addl $4, %esp\n"
	"1:	popl %gs\n"
	"	popl %fs\n"
	"	popl %es\n"
	"	popl %ds\n"
	"	popal\n"
	"	addl $12, %esp\n"
	"	iret\n"
	/* A TLS stack segment: run the C handler on the same memory, flat. */
	"2:	movl %eax, fz_saved_ss\n"
	"	movl %esp, %ebx\n"
	"	addl fz_ss_base, %ebx\n"
	"	movl $0x21, %eax\n"
	"	movl %eax, %ss\n"
	"	movl %ebx, %esp\n"
	"	pushl %esp\n"
	"	call fz_trap_c\n"
	"	addl $4, %esp\n"
	"	movl %esp, %ebx\n"
	"	subl fz_ss_base, %ebx\n"
	"	movl fz_saved_ss, %eax\n"
	"	movl %eax, %ss\n"
	"	movl %ebx, %esp\n"
	"	jmp 1b\n");

extern char fz_stubs[];
void fz_escape(void) __attribute__((noreturn));
void fz_trap_c(struct fz_frame *f);

uint32_t fz_stub(unsigned v)
{
	return (uint32_t)(uintptr_t)fz_stubs + v * 16;
}

/*
 * Every trap of an op comes here. The virtual interrupt flag is put back
 * as the frame had it when the gate was an interrupt gate (a kernel's iret
 * emulation), so that the op's caller sees the flag it set.
 */
void fz_trap_c(struct fz_frame *f)
{
	unsigned n = fz_ntraps++;
	int user = (f->cs & 3) == 3;

	if (n < MAXTRAPS) {
		struct fz_trap *t = &fz_traps[n];
		u32 cs;

		__asm__ volatile("movl %%cs, %0" : "=r"(cs));
		t->f = *f;
		t->frame_at = (u32)(uintptr_t)&f->eip;
		t->cr2 = S->cr2;
		t->irq_at_entry = S->irq_enabled;
		t->hcs = cs;
	}
	/* A frame that is not one (pushed somewhere else): do not iret through it. */
	if ((f->cs & 0xfff8) != 0x18 && (f->cs & 0xfff8) != 0x28 &&
	    ((f->cs & 0xfff8) < 0x40 || (f->cs & 0xfff8) > 0x50)) {
		fz_escaped = 1;
		fz_escape();
	}
	if (f->vector < 256 && gate_present(f->vector) && !gate_is_trap(f->vector))
		S->irq_enabled = (f->eflags & F_IF) ? 1 : 0;
	if (fz_escape_all || n + 1 >= MAXTRAPS) {
		fz_escaped = 1;
		fz_escape();
	}
	if (f->vector == 1) {
		f->eflags &= ~F_TF;
		return;
	}
	if (user && f->vector == RET_VEC) {
		fz_escaped = 1;
		fz_escape();
	}
	if (f->eip == fz_fault_at && fz_resume)
		f->eip = fz_resume;
	/* Anything else (a trap, an interrupt) resumes where it was. */
}
