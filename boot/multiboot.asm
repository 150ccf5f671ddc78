; Multiboot (v1) header and entry point.
;
; GRUB and QEMU's -kernel load the ELF image at its physical addresses and
; jump here in 32-bit protected mode, paging off, interrupts off, with
; eax = the Multiboot magic and ebx = the Multiboot information.

MB_MAGIC	equ 0x1badb002
MB_PAGE_ALIGN	equ 1 << 0		; modules on page boundaries
MB_MEMORY_INFO	equ 1 << 1		; we need the memory map
MB_FLAGS	equ MB_PAGE_ALIGN | MB_MEMORY_INFO

BOOT_STACK_SIZE	equ 16384

section .multiboot progbits alloc noexec nowrite align=4
	dd MB_MAGIC
	dd MB_FLAGS
	dd -(MB_MAGIC + MB_FLAGS)

section .bss nobits alloc noexec write align=16
global boot_stack_top
boot_stack:
	resb BOOT_STACK_SIZE
boot_stack_top:

section .data
global boot_tsc
boot_tsc:	dq 0			; TSC at the first instruction

section .text
global _start
extern kmain
_start:
	mov esi, eax			; rdtsc overwrites eax
	rdtsc
	mov [boot_tsc], eax
	mov [boot_tsc + 4], edx
	mov esp, boot_stack_top
	xor ebp, ebp			; ends the backtrace
	push 0				; clear EFLAGS (DF, AC, NT)
	popfd
	push ebx
	push esi
	call kmain
.hang:	cli
	hlt
	jmp .hang
