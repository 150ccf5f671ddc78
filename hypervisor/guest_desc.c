/*
 * The CPU state a guest declares through hypercalls: its gates, its TLS
 * descriptors, its kernel stack and its shared page. Each value is checked
 * here, once, and mirrored into the Switcher's tables while the guest has
 * the CPU.
 */
#include "guest_desc.h"
#include "hypercall.h"
#include "../arch/x86/switcher.h"
#include "../arch/x86/switcher_layout.h"
#include "../arch/x86/paging.h"
#include "../mm/phys.h"
#include "../mm/window.h"
#include "timer.h"

extern char switcher_stub_table[];

/*
 * The real gate for a vector while g runs.
 *
 * The direct trap: the guest's system-call vector, if its gate is a trap
 * gate, goes from ring 3 straight to the guest kernel without the
 * hypervisor. Only a trap gate, because an interrupt gate would clear the
 * real EFLAGS.IF and let the guest hold off the hypervisor's timer.
 *
 * Every other vector goes to a Switcher stub. The stub's DPL decides who
 * may raise the vector with int/int3/into: the guest's DPL, except where
 * the CPU pushes an error code for the exception (an int would push none
 * and the saved frame would slip by a word) and for the hardware interrupt
 * vectors, which only the PIC may raise. The hypercall gate has DPL 1.
 */
static gate_desc_t real_gate(const struct guest *g, unsigned v)
{
	u32 stub = (u32)(uintptr_t)switcher_stub_table + v * TRAP_STUB_SIZE;
	gate_desc_t gate = g->idt[v];
	u8 dpl = 0;

	if (v == UMBRA_HCALL_VECTOR)
		dpl = 1;
	else if (g->syscall_vector && v == g->syscall_vector && desc_present(gate) &&
		 gate_type(gate) == GATE_TRAP)
		return gate;
	else if (desc_present(gate) && !vector_has_error_code(v) &&
		 !(v >= VEC_IRQ0 && v < VEC_IRQ0 + 16))
		dpl = desc_dpl(gate);
	return gate_desc(stub, HV_CS, GATE_INTR, dpl);
}

static void load_gate(const struct guest *g, unsigned v)
{
	if (g == current_guest)
		SWITCHER_RO->idt[v] = real_gate(g, v);
}

static void load_stack(const struct guest *g)
{
	if (g != current_guest)
		return;
	SWITCHER_RO->tss.ss1 = g->ss1;
	SWITCHER_RO->tss.esp1 = g->esp1;
}

static void load_tls(const struct guest *g, unsigned slot)
{
	if (g == current_guest)
		SWITCHER_RO->gdt[GDT_TLS0 + slot] = g->tls[slot];
}

void guest_desc_load(const struct guest *g)
{
	for (unsigned v = 0; v < VEC_COUNT; v++)
		SWITCHER_RO->idt[v] = real_gate(g, v);
	for (unsigned i = 0; i < GDT_TLS_COUNT; i++)
		SWITCHER_RO->gdt[GDT_TLS0 + i] = g->tls[i];
	SWITCHER_RO->tss.ss1 = g->ss1;
	SWITCHER_RO->tss.esp1 = g->esp1;
}

/* The guest's registers: in the register page while it has the CPU. */
static struct guest_regs *live_regs(struct guest *g)
{
	return g == current_guest ? SWITCHER_REGS : &g->regs;
}

/* Guest code segments end below the Switcher: a handler must lie inside them. */
#define GUEST_CODE_LIMIT	(SWITCHER_BASE - 1)

s32 hc_set_trap(struct guest *g, const u32 a[4])
{
	u32 v = a[0];
	gate_desc_t gate = hc_arg64(a, 1);

	if (v >= VEC_COUNT) {
		guest_kill(g, "set_trap: vector %u out of range", v);
		return UMBRA_EINVAL;
	}
	if (v == VEC_NMI || v == VEC_DF || v == VEC_MC || v == UMBRA_HCALL_VECTOR)
		return UMBRA_EINVAL;
	if (desc_present(gate)) {
		u8 type = gate_type(gate), dpl = desc_dpl(gate);

		if (type != GATE_INTR && type != GATE_TRAP) {
			guest_kill(g, "set_trap: vector %u: type 0x%x is not a 32-bit interrupt or trap gate",
				   v, type);
			return UMBRA_EINVAL;
		}
		if ((gate_selector(gate) & ~3u) != (UMBRA_KERNEL_CS & ~3u)) {
			guest_kill(g, "set_trap: vector %u: selector 0x%x is not the guest kernel's code",
				   v, gate_selector(gate));
			return UMBRA_EINVAL;
		}
		if (dpl != 1 && dpl != 3) {
			guest_kill(g, "set_trap: vector %u: DPL %u (must be 1 or 3)", v, dpl);
			return UMBRA_EINVAL;
		}
		if (gate_offset(gate) > GUEST_CODE_LIMIT) {
			guest_kill(g, "set_trap: vector %u: handler 0x%x lies beyond the guest's code "
				   "segment (limit 0x%x)", v, gate_offset(gate), GUEST_CODE_LIMIT);
			return UMBRA_EINVAL;
		}
		/* The guest's selector may carry any RPL; the CPU wants ring 1's. */
		gate = (gate & ~(0xffffull << 16)) | ((u64)UMBRA_KERNEL_CS << 16);
	} else {
		gate = 0;
	}
	g->idt[v] = gate;
	load_gate(g, v);
	return 0;
}

/* On the linear boot mapping the stack must lie in mapped guest memory. */
static bool linear_stack_ok(const struct guest *g, u32 esp, u32 pages)
{
	u32 bottom = ALIGN_DOWN(esp - pages * PAGE_SIZE, PAGE_SIZE);
	u64 top = ALIGN_UP((u64)esp, PAGE_SIZE);

	return bottom >= PAGE_SIZE && top <= g->mem_bytes;
}

/*
 * Check and record a kernel stack; true if it was good (else the guest is
 * killed). The caller sees that it is mapped: SET_STACK at once, SWITCH
 * in the table it switches to.
 */
bool guest_stack_set(struct guest *g, u32 ss, u32 esp, u32 pages)
{
	if (ss != UMBRA_KERNEL_DS) {
		guest_kill(g, "set_stack: segment 0x%x is not the ring-1 data segment 0x%x",
			   ss, UMBRA_KERNEL_DS);
		return false;
	}
	if (pages < 1 || pages > 2) {
		guest_kill(g, "set_stack: %u pages (must be 1 or 2)", pages);
		return false;
	}
	if (esp < pages * PAGE_SIZE || esp > SWITCHER_BASE) {
		guest_kill(g, "set_stack: stack top 0x%x outside the guest's address space", esp);
		return false;
	}
	if (g->shadow.linear && !linear_stack_ok(g, esp, pages)) {
		guest_kill(g, "set_stack: stack 0x%x-0x%x is not in guest memory (0x1000-0x%x) "
			   "while the linear boot mapping is in use", esp - pages * PAGE_SIZE, esp,
			   g->mem_bytes);
		return false;
	}
	g->ss1 = ss;
	g->esp1 = esp;
	g->stack_pages = pages;
	load_stack(g);
	return true;
}

s32 hc_set_stack(struct guest *g, const u32 a[4])
{
	if (!guest_stack_set(g, a[0], a[1], a[2]))
		return UMBRA_EINVAL;
	return shadow_pin_stack(g) ? 0 : UMBRA_EINVAL;
}

/* Why a TLS descriptor may not be installed, or NULL if it may. */
static const char *bad_tls(seg_desc_t d)
{
	u8 access = seg_access(d);
	u8 dpl = desc_dpl(d);

	if (!(access & SEG_S))
		return "system descriptors and gates are not allowed";
	if (dpl != 1 && dpl != 3)
		return "DPL must be 1 or 3";
	if ((access & SEG_CODE) && (access & SEG_CONFORMING))
		return "conforming code segments are not allowed";
	if (!(access & SEG_CODE) && (access & SEG_CONFORMING))
		return "expand-down segments are not allowed";
	if ((u64)seg_base(d) + seg_limit(d) >= SWITCHER_BASE)
		return "segment reaches into the Switcher region";
	/* A 16-bit stack would come back from ring 0 with ESP[31:16] not its own. */
	if (!(access & SEG_CODE) && (access & SEG_RW) && !((d >> 52) & SEG_DB))
		return "16-bit writable data segments are not allowed";
	return NULL;
}

/*
 * The Switcher reloads the guest's saved segment registers on every entry,
 * in ring 0, where a fault would be the hypervisor's. So a saved data
 * selector naming a slot whose new descriptor it could not load becomes
 * the null selector, as the guest kernel would have to reload it anyway;
 * CS and SS cannot be null, so a guest that changes the slot they live in
 * is stopped.
 */
static bool loadable(seg_desc_t d, u32 sel)
{
	u8 access = seg_access(d);

	if (!desc_present(d) || ((access & SEG_CODE) && !(access & SEG_RW)))
		return false;
	return desc_dpl(d) >= (sel & 3);
}

static void drop_stale_selector(u32 *sel, unsigned entry, seg_desc_t d)
{
	if ((*sel >> 3) == entry && !loadable(d, *sel))
		*sel = 0;
}

s32 hc_set_tls(struct guest *g, const u32 a[4])
{
	struct guest_regs *r = live_regs(g);
	u32 slot = a[0];
	seg_desc_t d = hc_arg64(a, 1);
	const char *why;

	if (slot >= GDT_TLS_COUNT) {
		guest_kill(g, "set_tls: slot %u out of range (0-%u)", slot, GDT_TLS_COUNT - 1);
		return UMBRA_EINVAL;
	}
	if (desc_present(d) && (why = bad_tls(d))) {
		guest_kill(g, "set_tls: slot %u: descriptor 0x%llx: %s", slot, d, why);
		return UMBRA_EINVAL;
	}
	if ((r->cs >> 3) == GDT_TLS0 + slot || (r->ss >> 3) == GDT_TLS0 + slot) {
		guest_kill(g, "set_tls: slot %u holds the code or stack segment in use", slot);
		return UMBRA_EINVAL;
	}
	/* Preset accessed: the CPU must never write to the read-only GDT. */
	d = desc_present(d) ? d | ((u64)SEG_ACCESSED << 40) : 0;
	drop_stale_selector(&r->ds, GDT_TLS0 + slot, d);
	drop_stale_selector(&r->es, GDT_TLS0 + slot, d);
	drop_stale_selector(&r->fs, GDT_TLS0 + slot, d);
	drop_stale_selector(&r->gs, GDT_TLS0 + slot, d);
	g->tls[slot] = d;
	load_tls(g, slot);
	return 0;
}

static bool valid_syscall_vector(u32 v)
{
	return v == 0 || (v >= VEC_IRQ0 + 16 && v < VEC_COUNT && v != UMBRA_HCALL_VECTOR);
}

/* A guest's shared page may lie above the one-to-one map: it has a pinned slot. */
_Static_assert(MAX_GUESTS <= WINDOW_PINS, "a window pin for each guest's shared page");

s32 hc_set_shared(struct guest *g, const u32 a[4])
{
	gpa_t gpa = a[0];
	struct umbra_shared *s;
	bool late;

	if (gpa % PAGE_SIZE || gpa < PAGE_SIZE || gpa >= g->mem_bytes) {
		guest_kill(g, "set_shared: 0x%x is not a page-aligned address of guest memory", gpa);
		return UMBRA_EINVAL;
	}
	s = window_pin(g->id, guest_p2m(g, gpa >> PAGE_SHIFT));	/* kept in g->shared */
	if (!valid_syscall_vector(s->syscall_vector)) {
		guest_kill(g, "set_shared: system-call vector %u is reserved (use 48-255, not 0x%x)",
			   s->syscall_vector, UMBRA_HCALL_VECTOR);
		return UMBRA_EINVAL;
	}
	if (s->kernel_base >= SWITCHER_BASE || s->kernel_base % pt_span(&pt_native, pt_native.dir)) {
		guest_kill(g, "set_shared: kernel address 0x%x must be a multiple of %u MiB below the Switcher",
			   s->kernel_base, (unsigned)(pt_span(&pt_native, pt_native.dir) >> 20));
		return UMBRA_EINVAL;
	}
	if (!g->shadow.linear && g->kernel_base && s->kernel_base != g->kernel_base) {
		guest_kill(g, "set_shared: the kernel address cannot change once it is set and page "
			   "tables are in use");
		return UMBRA_EINVAL;
	}
	late = !g->shadow.linear && s->kernel_base != g->kernel_base;
	g->shared = s;
	g->kernel_base = s->kernel_base;
	g->syscall_vector = s->syscall_vector;
	if (late)	/* the first kernel address, set after page tables: make shadows anew */
		shadow_kernel_base_set(g);
	s->irq_pending = 0;
	s->cr2 = 0;
	s->tsc_khz = tsc_khz;
	s->desc_loads = 0;	/* the GDT, IDT and TSS stay loaded across world switches */
	s->world_switches = g->world_switches;
	if (g == current_guest)
		guest_desc_load(g);
	return 0;
}
