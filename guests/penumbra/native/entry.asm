; Native entry: a Multiboot loader (QEMU's -kernel, GRUB) starts us in
; 32-bit protected mode with paging off, eax = the Multiboot magic and
; ebx = the Multiboot information. Turn on paging from .boot, then run the
; kernel at its high address.

KBASE		equ 0xc0000000
MB_MAGIC	equ 0x1badb002
MB_FLAGS	equ 0x00000002	; we want mem_lower/mem_upper

section .boot.text progbits alloc exec nowrite align=16
align 4
	dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

global mach_entry
extern native_boot, native_start
mach_entry:
	cli
	mov esp, boot_low_stack_top
	push ebx
	call native_boot	; on return paging is on
	pop ebx
	mov esp, boot_stack_top
	add ebx, KBASE
	push ebx
	mov eax, native_start
	call eax
.hang:	hlt
	jmp .hang

section .boot.bss nobits alloc write align=16
	resb 4096
boot_low_stack_top:

section .bss nobits alloc write align=16
	resb 8192
boot_stack_top:
