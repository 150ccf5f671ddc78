/*
 * The runtime's helpers for guests that act as kernels (kernel.h): the
 * shared page, 256 trap entry stubs and the way into ring 3 and back. The
 * stubs give every vector the same frame (a zero where the CPU pushes no
 * error code, then the vector and the registers) and call the guest's
 * umbra_trap_handler; on the way out they restore the virtual interrupt
 * flag from the frame, since iret in ring 1 cannot change the real one.
 */
#include <umbra/kernel.h>

struct umbra_shared umbra_shared __attribute__((aligned(4096)));

long umbra_shared_init(uint32_t kernel_base, uint32_t syscall_vector)
{
	umbra_shared.irq_enabled = 0;
	umbra_shared.kernel_base = kernel_base;
	umbra_shared.syscall_vector = syscall_vector;
	return umbra_hcall(UMBRA_HC_SET_SHARED, (uint32_t)(uintptr_t)&umbra_shared, 0, 0, 0);
}

/*
 * Entry stubs, 16 bytes each: push a zero where the CPU pushes no error
 * code, push the vector, and join the common path.
 */
#define STUB_SIZE	16

__asm__(
	".text\n"
	".balign 16\n"
	"umbra_trap_stubs:\n"
	".set v, 0\n"
	".rept 256\n"
	"1:\n"
	".if (v == 8) || (v >= 10 && v <= 14) || (v == 17) || (v == 21) || (v == 29) || (v == 30)\n"
	"	nop; nop\n"
	".else\n"
	"	pushl $0\n"
	".endif\n"
	"	pushl $v\n"
	"	jmp umbra_trap_common\n"
	"	.fill 16 - (. - 1b), 1, 0xcc\n"
	".set v, v + 1\n"
	".endr\n"
	"umbra_trap_common:\n"
	"	pushal\n"
	"	cld\n"
	"	pushl %esp\n"
	"	call umbra_trap_dispatch\n"
	"	addl $4, %esp\n"
	"	popal\n"
	"	addl $8, %esp\n"
	"	iret\n");

extern char umbra_trap_stubs[];

/* A guest that installs stubs without a handler of its own stops here. */
__attribute__((weak)) void umbra_trap_handler(struct umbra_frame *f)
{
	umbra_printf("runtime: unexpected trap, vector %u at eip 0x%x, error code 0x%x\n",
		     f->vector, f->eip, f->error);
	umbra_shutdown(254);
}

/*
 * iret in ring 1 cannot change the real interrupt flag, and the virtual one
 * is memory: restore it from the frame as iret would have, and take what
 * arrived meanwhile.
 */
void umbra_trap_dispatch(struct umbra_frame *f);

void umbra_trap_dispatch(struct umbra_frame *f)
{
	umbra_trap_handler(f);
	if (f->eflags & 0x200)
		umbra_sti();
}

uint32_t umbra_trap_stub(unsigned vector)
{
	return (uint32_t)(uintptr_t)umbra_trap_stubs + vector * STUB_SIZE;
}

/* Where umbra_run_user() left the kernel, for umbra_user_return(). */
static uint32_t saved_esp __attribute__((used));
static uint32_t user_value __attribute__((used));

/*
 * Push callee-saved registers, remember the stack, and iret to ring 3.
 * umbra_user_return() unwinds to the label after the iret.
 */
__asm__(
	".text\n"
	".globl umbra_run_user\n"
	"umbra_run_user:\n"
	"	movl 4(%esp), %eax\n"		/* fn */
	"	movl 8(%esp), %ecx\n"		/* user stack top */
	"	pushl %ebp\n"
	"	pushl %ebx\n"
	"	pushl %esi\n"
	"	pushl %edi\n"
	"	movl %esp, saved_esp\n"
	"	pushl $0x33\n"			/* ss: UMBRA_USER_DS */
	"	pushl %ecx\n"			/* esp */
	"	pushl $0x202\n"			/* eflags: IF */
	"	pushl $0x2b\n"			/* cs: UMBRA_USER_CS */
	"	pushl %eax\n"			/* eip */
	"	movl $0x33, %edx\n"
	"	movl %edx, %ds\n"
	"	movl %edx, %es\n"
	"	iret\n"
	"umbra_user_back:\n"
	"	movl $0x21, %edx\n"		/* UMBRA_KERNEL_DS */
	"	movl %edx, %ds\n"
	"	movl %edx, %es\n"
	"	movl saved_esp, %esp\n"
	"	popl %edi\n"
	"	popl %esi\n"
	"	popl %ebx\n"
	"	popl %ebp\n"
	"	movl user_value, %eax\n"
	"	ret\n");

void umbra_user_return(uint32_t value)
{
	user_value = value;
	__asm__ volatile("jmp umbra_user_back");
	__builtin_unreachable();
}
