; PV entry: umbra starts the kernel in ring 1 at its physical address, on
; its linear boot mapping, with ebx = the boot information. Build the page
; table on a small low stack, then run the kernel at its high address.

KBASE	equ 0xc0000000

section .boot.text progbits alloc exec nowrite align=16
global mach_entry
extern pv_boot, pv_start
mach_entry:
	mov esp, boot_low_stack_top
	push ebx
	call pv_boot		; on return the kernel's own table is in use
	pop ebx
	mov esp, boot_stack_top	; the first kernel stack, at its high address
	add ebx, KBASE
	push ebx
	mov eax, pv_start
	call eax
.hang:	jmp .hang

section .boot.bss nobits alloc write align=16
	resb 4096
boot_low_stack_top:

section .bss nobits alloc write align=16
	resb 8192
boot_stack_top:
