; The Switcher: the only code that runs in both worlds.
;
; It is linked at SWITCHER_BASE and mapped there in the hypervisor's page
; tables and in every shadow page table, so it keeps running while CR3
; changes under it. One GDT, IDT and TSS, in the Switcher's read-only
; page, serve both worlds and stay loaded: a world switch changes only CR3
; and the registers. Going in, the Switcher saves the hypervisor's stack
; pointer, loads the guest's shadow CR3, and pops the guest's registers
; off the register page straight into iret. Coming back, the CPU itself
; does half the work: the TSS says the ring-0 stack is the top of the
; register page, so a trap from ring 1 or 3 pushes the guest's eip, cs,
; eflags, esp and ss right where they belong; the stub adds the vector and
; the common path the general registers, then the way in is unwound.
;
; Every vector of the IDT leads to a stub here, whichever world runs. A
; trap taken in ring 0 is the hypervisor's own (it goes on to host_trap),
; unless it came from the way in below (the failsafe).
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
; pointer is in hypervisor memory, read after CR3 has been switched back.

%include "switcher_layout.inc"

HV_CS		equ 0x08
HV_DS		equ 0x10
EFLAGS_KNOWN	equ 0x2		; bit 1 is always set; everything else clear
EFLAGS_VM	equ 0x20000

extern switcher_host		; struct switcher_host, hypervisor memory
extern host_trap_common		; entry.asm: a trap of the hypervisor's own

bits 32
section .switcher progbits alloc exec nowrite align=4096

; Nothing jumps to the region's first byte but a guest that an emulator
; without segment limits lets run there (QEMU's TCG): fault at once.
	ud2

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

	; The register page is mapped in both worlds, so from here on an NMI
	; always has a stack, even across the CR3 load.
global switcher_window
switcher_window:
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
; in ring 0 interrupted the hypervisor, perhaps inside the Switcher's
; window with the guest's data segments loaded: count it and return to
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

; A trap from ring 0 is the hypervisor's own, but for a fault on the way
; in, between switcher_window and the iret (the failsafe), which goes on
; below as if from the guest. The frame's eip, cs and eflags are at +8,
; +12 and +16, under the stub's vector and error code, in every case. A
; trap from virtual-8086 mode (which no CPU enters from ring 1, but an
; emulator's iret might) has cs of any value and a longer frame: it goes
; on as from the guest, and its frame does not end at SW_REGS.
switcher_return:
	test dword [esp + 16], EFLAGS_VM	; virtual-8086 mode is never the hypervisor
	jnz .from_guest
	test byte [esp + 12], 3
	jnz .from_guest
	cmp dword [esp + 8], switcher_window
	jb .host
	cmp dword [esp + 8], switcher_iret
	jbe .from_guest
.host:
	jmp host_trap_common

; On the register page (or, for the failsafe, wherever the fault found
; esp), ring 0, still in the guest's address space and with the guest's
; data segments, whose limit ends below this page: only ss (the
; hypervisor's, from the TSS or never changed) may be used until ds is.
.from_guest:
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
