; The Switcher: the only code that runs in both worlds.
;
; It is linked at SWITCHER_BASE and mapped there in the hypervisor's page
; tables and in every shadow page table, so it keeps running while CR3
; changes under it. Going in, it saves the hypervisor's stack pointer,
; loads the guest's GDT, IDT and TSS and its shadow CR3, and pops the
; guest's registers off the register page straight into iret. Coming back,
; the CPU itself does half the work: the guest's TSS says the ring-0 stack
; is the top of the register page, so a trap from ring 1 or 3 pushes the
; guest's eip, cs, eflags, esp and ss right where they belong; the stub
; adds the vector and the common path the general registers, then the way
; in is unwound.
;
; The contract of each direction (the C side, hypervisor/world.c, keeps
; the rest of it):
;
; In (switcher_return), whatever the guest left in EFLAGS: the CPU clears
; IF, TF, NT, RF and VM on the way through the gate, and the first thing
; done here is to load a known EFLAGS (only the reserved bit 1 set), so
; DF and AC are clear before the hypervisor's C code, and its rep movs,
; run. Every gate of the guest IDT is an interrupt gate to a stub here;
; the only guest gate that is not (the direct system-call trap gate)
; leads to the guest's own ring-1 code, not here.
;
; Out (switcher_to_guest): the C side has built EFLAGS and checked every
; selector and eip against the descriptors they name, so the pops and the
; iret below should not fault. If one does anyway (or an NMI lands in the
; window), the CPU, already in ring 0, pushes a short frame on whatever
; stack is current, and the trap arrives here without the stack switch a
; guest trap has. It is told apart by where the frame ends: a trap from
; the guest always leaves esp at SW_REGS. switcher_to_guest returns the
; frame, and the C side handles a frame that is not SW_REGS as the
; Switcher's own fault (the failsafe), never as a guest trap.
;
; Only host_cr3 is in a page the guest can map; the hypervisor's stack
; pointer and descriptor-table pointers are in hypervisor memory, read
; after CR3 has been switched back.

%include "switcher_layout.inc"

HV_CS		equ 0x08
HV_DS		equ 0x10
TSS_SEL		equ TSS_DESC
EFLAGS_KNOWN	equ 0x2		; bit 1 is always set; everything else clear

extern switcher_host		; struct switcher_host, hypervisor memory

bits 32
section .switcher progbits alloc exec nowrite align=4096

; struct guest_regs *switcher_to_guest(u32 shadow_cr3)
; Returns when the guest traps: SW_REGS, or the failsafe frame (see above).
global switcher_to_guest
switcher_to_guest:
	push ebp
	push ebx
	push esi
	push edi
	mov eax, [esp + 20]			; shadow_cr3
	mov [switcher_host + HOST_ESP], esp

	; ltr marks a TSS descriptor busy and refuses a busy one, so clear
	; the bit in both GDTs: the guest's for the ltr below, the
	; hypervisor's for the ltr on the way back, when its GDT will not be
	; mapped until after it is loaded.
	mov edx, [switcher_host + HOST_GDT + 4]
	and byte [edx + TSS_DESC + 5], ~TSS_BUSY_BIT
	and byte [SW_RO_PAGE + RO_GDT + TSS_DESC + 5], ~TSS_BUSY_BIT

	lgdt [SW_RO_PAGE + RO_GUEST_GDT + 2]
	lidt [SW_RO_PAGE + RO_GUEST_IDT + 2]
	mov dx, TSS_SEL
	ltr dx

	; The register page is mapped in both worlds, so from here on an NMI
	; always has a stack, even across the CR3 load.
	mov esp, SW_REGS

	; From here on only the Switcher's pages of the hypervisor are mapped.
	; The CR3 load also flushes every non-global TLB entry, which is what
	; lets the hypervisor edit shadow entries freely while it runs.
	mov cr3, eax
global switcher_pop_gs, switcher_pop_fs, switcher_pop_es, switcher_pop_ds, switcher_iret
switcher_pop_gs:
	pop gs
switcher_pop_fs:
	pop fs
switcher_pop_es:
	pop es
switcher_pop_ds:
	pop ds
	popad
	add esp, 8				; vector and error code
switcher_iret:
	iretd

; One stub per vector, TRAP_STUB_SIZE bytes each, as in entry.asm; the
; NMI's has a path of its own.
%macro stub 1
%%start:
%if %1 == 2
	jmp near switcher_nmi
%elif (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17) || (%1 == 21) || (%1 == 29) || (%1 == 30)
%else
	push byte 0
%endif
%if %1 != 2
	push dword %1
	jmp near switcher_return
%endif
	times TRAP_STUB_SIZE - ($ - %%start) db 0xcc
%endmacro

global switcher_stub_table
switcher_stub_table:
%assign v 0
%rep 256
	stub v
%assign v v + 1
%endrep

; An NMI from the guest (ring 1 or 3) is a trap like any other. One taken
; in ring 0 landed inside the Switcher's window, on the way in or on the
; way back before the hypervisor's IDT is loaded: count it and return to
; what it interrupted, which then goes on as if nothing had happened. Only
; ss is known to be the hypervisor's here, and iret restores the flags.
switcher_nmi:
	test byte [esp + 4], 3		; the interrupted cs
	jz .in_switcher
	push byte 0
	push dword 2
	jmp switcher_return
.in_switcher:
	inc dword [ss:SW_REGS_PAGE + SW_NMI_COUNT]
	iretd

; On the register page (or, for the failsafe, wherever the fault found
; esp), ring 0, still in the guest's address space and with the guest's
; data segments, whose limit ends below this page: only ss (the
; hypervisor's, from the TSS or never changed) may be used until ds is.
switcher_return:
	push dword EFLAGS_KNOWN
	popfd
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
	mov ebx, esp			; the frame: SW_REGS for a trap from the guest

	mov eax, [SW_RO_PAGE + RO_HOST_CR3]
	mov cr3, eax
	lgdt [switcher_host + HOST_GDT + 2]
	lidt [switcher_host + HOST_IDT + 2]
	mov ax, TSS_SEL
	ltr ax
	mov esp, [switcher_host + HOST_ESP]
	mov ax, HV_DS
	mov fs, ax
	mov gs, ax
	mov eax, ebx
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret
global switcher_end
switcher_end:
