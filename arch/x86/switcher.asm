; The Switcher: the only code that runs in both worlds.
;
; It is linked at SWITCHER_BASE and mapped there in the hypervisor's page
; tables and in every shadow page table, so it keeps running while CR3
; changes under it. Going in, it saves the hypervisor's stack pointer,
; loads the guest's GDT, IDT and TSS and its shadow CR3, and pops the
; guest's registers off the register page straight into iret. Coming back,
; the CPU itself does half the work: the guest's TSS says the ring-0 stack
; is the top of the register page, so a trap pushes the guest's eip, cs,
; eflags, esp and ss right where they belong; the stub adds the vector and
; the common path the general registers, then the way in is unwound.
;
; Interrupts are off throughout: the hypervisor runs with IF clear, and
; every gate in the guest IDT is an interrupt gate.

%include "switcher_layout.inc"

HV_CS	equ 0x08
HV_DS	equ 0x10
TSS_SEL	equ TSS_DESC

bits 32
section .switcher progbits alloc exec nowrite align=4096

; u32 switcher_to_guest(u32 shadow_cr3)
; Returns when the guest traps; the vector is in the register page.
global switcher_to_guest
switcher_to_guest:
	push ebp
	push ebx
	push esi
	push edi
	mov eax, [esp + 20]			; shadow_cr3
	mov [SW_RO_PAGE + RO_HOST_ESP], esp

	; ltr marks a TSS descriptor busy and refuses a busy one, so clear
	; the bit in both GDTs: the guest's for the ltr below, the
	; hypervisor's for the ltr on the way back, when its GDT will not be
	; mapped until after it is loaded.
	mov edx, [SW_RO_PAGE + RO_HOST_GDT + 4]
	and byte [edx + TSS_DESC + 5], ~TSS_BUSY_BIT
	and byte [SW_RO_PAGE + RO_GDT + TSS_DESC + 5], ~TSS_BUSY_BIT

	lgdt [SW_RO_PAGE + RO_GUEST_GDT + 2]
	lidt [SW_RO_PAGE + RO_GUEST_IDT + 2]
	mov dx, TSS_SEL
	ltr dx

	; From here on only the Switcher's pages of the hypervisor are mapped.
	; The CR3 load also flushes every non-global TLB entry, which is what
	; lets the hypervisor edit shadow entries freely while it runs.
	mov cr3, eax
	mov esp, SW_REGS
	pop gs
	pop fs
	pop es
	pop ds
	popad
	add esp, 8				; vector and error code
	iretd

; One stub per vector, TRAP_STUB_SIZE bytes each, as in entry.asm.
%macro stub 1
%%start:
%if (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17) || (%1 == 21) || (%1 == 29) || (%1 == 30)
%else
	push byte 0
%endif
	push dword %1
	jmp near switcher_return
	times TRAP_STUB_SIZE - ($ - %%start) db 0xcc
%endmacro

global switcher_stub_table
switcher_stub_table:
%assign v 0
%rep 256
	stub v
%assign v v + 1
%endrep

; On the register page, ring 0, still in the guest's address space and with
; the guest's data segments, whose limit ends below this page: switch DS
; before touching memory through it.
switcher_return:
	pushad
	mov eax, ds			; mov from a segment register zero-extends
	push eax
	mov eax, es
	push eax
	mov eax, fs
	push eax
	mov eax, gs
	push eax
	mov ax, HV_DS
	mov ds, ax
	mov es, ax

	mov eax, [SW_RO_PAGE + RO_HOST_CR3]
	mov cr3, eax
	lgdt [SW_RO_PAGE + RO_HOST_GDT + 2]
	lidt [SW_RO_PAGE + RO_HOST_IDT + 2]
	mov ax, TSS_SEL
	ltr ax
	mov esp, [SW_RO_PAGE + RO_HOST_ESP]
	mov ax, HV_DS
	mov fs, ax
	mov gs, ax
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret
global switcher_end
switcher_end:
