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
boot_tsc:	dq 0			; TSC once the CPU is known to have one

section .text
global _start
extern cpu_check, kmain
_start:
	mov esi, eax			; the Multiboot magic and information,
	mov edi, ebx			; kept across the calls below
	mov esp, boot_stack_top
	xor ebp, ebp			; ends the backtrace
	push 0				; clear EFLAGS (DF, AC, NT)
	popfd
	; Nothing built for the i686 may run before this, not even rdtsc:
	; cpu_check returns only if the CPU has all that umbra uses.
	push edi
	push esi
	call cpu_check
	add esp, 8
	rdtsc
	mov [boot_tsc], eax
	mov [boot_tsc + 4], edx
	push edi
	push esi
	call kmain
.hang:	cli
	hlt
	jmp .hang
