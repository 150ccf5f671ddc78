; Trap entry, shared by both machines: umbra delivers a trap to ring 1 with
; the frame the CPU would push, so one set of stubs serves PV and native.
; Each stub pushes a zero where the CPU pushes no error code, then the
; vector; the common path saves the rest of a struct trapframe
; (machine.h) and calls trap().

section .text

%macro STUB 1
stub_%1:
%if !(%1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17 || %1 == 21 || %1 == 29 || %1 == 30)
	push 0
%endif
	push %1
	jmp trap_common
%endmacro

%assign v 0
%rep 256
STUB v
%assign v v + 1
%endrep

extern trap, trap_resume
trap_common:
	push ds
	push es
	push fs
	push gs
	pushad
	mov eax, ss		; the kernel's data segment, on either machine
	mov ds, eax
	mov es, eax
	cld
	push esp
	call trap
	add esp, 4
global trap_return
trap_return:
	popad
	pop gs
	pop fs
	pop es
	pop ds
	add esp, 8		; vector and error code
	iret

; A new process's first switch returns here, with esp at its user frame.
global fork_trampoline
fork_trampoline:
	push esp
	call trap_resume
	add esp, 4
	jmp trap_return

; swtch(uint32_t *save_esp, uint32_t esp): keep the callee-saved registers
; on this stack, remember it, and continue on the other one.
global swtch
swtch:
	mov eax, [esp + 4]
	mov edx, [esp + 8]
	push ebp
	push ebx
	push esi
	push edi
	mov [eax], esp
	mov esp, edx
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

section .rodata
global trap_stubs
trap_stubs:
%assign v 0
%rep 256
	dd stub_ %+ v
%assign v v + 1
%endrep
