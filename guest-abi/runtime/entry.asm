; Guest entry: the hypervisor jumps here in ring 1 with eax = magic and
; ebx = the boot information. Switch to the runtime's stack and call C.

STACK_SIZE	equ 16384

section .bss nobits alloc noexec write align=16
stack:	resb STACK_SIZE
stack_top:

section .text
global _start
extern umbra_start
_start:
	mov esp, stack_top
	xor ebp, ebp
	push ebx
	push eax
	call umbra_start
.hang:	jmp .hang
