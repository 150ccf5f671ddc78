; Trap and interrupt entry while the hypervisor itself runs (ring 0, its
; own IDT). Each stub is TRAP_STUB_SIZE bytes, so the IDT is filled by
; arithmetic; it pushes a zero where the CPU pushes no error code, then
; the vector, and joins the common path, which hands a struct host_frame
; to host_trap().

%include "switcher_layout.inc"

bits 32
section .text

%macro stub 1
%%start:
%if (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17) || (%1 == 21) || (%1 == 29) || (%1 == 30)
%else
	push byte 0
%endif
	push dword %1
	jmp near host_trap_common
	times TRAP_STUB_SIZE - ($ - %%start) db 0xcc
%endmacro

align 16
global host_trap_stub_table
host_trap_stub_table:
%assign v 0
%rep 256
	stub v
%assign v v + 1
%endrep

; The Switcher's stubs come here too, for a trap taken in ring 0 once the
; Switcher's IDT is the one loaded (see switcher.asm).
extern host_trap
global host_trap_common
host_trap_common:
	pushad
	cld
	push esp			; struct host_frame *
	call host_trap
	add esp, 4
	popad
	add esp, 8			; vector and error code
	iretd
