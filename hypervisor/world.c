/*
 * The world switch as the hypervisor's C code sees it: one audited way
 * into a guest and one way back, whatever the reason for the trip.
 *
 * Way in (every entry: after a hypercall, a fault, an interrupt, a
 * reflected exception or a virtual interrupt):
 *  - EFLAGS is the hypervisor's to decide. The guest keeps only its
 *    arithmetic flags, TF, DF, AC and ID; IF is always set (the guest's
 *    "interrupts off" is the shared page's irq_enabled), IOPL is 0, and NT,
 *    RF, VM, VIF and VIP are clear, whatever the saved image said. An
 *    emulator that saves a stale image, or a path that edits the frame,
 *    cannot then hand the guest real I/O, a real cli, or virtual-8086 mode.
 *  - cs, ss and the data selectors are checked against the descriptors
 *    they name in the GDT the guest runs under, and eip against the code
 *    segment's limit, before the Switcher loads them in ring 0. A frame
 *    that does not pass kills the guest with the values named.
 * Way back (switcher.asm): the Switcher loads known EFLAGS (DF and AC
 * clear) before any hypervisor code runs, and tells a trap from the guest
 * from a fault of its own (the failsafe, below).
 */
#include "world.h"
#include "console.h"
#include "shadow.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/switcher.h"
#include "../lib/string.h"

#define EFLAGS_CF	(1u << 0)
#define EFLAGS_PF	(1u << 2)
#define EFLAGS_AF	(1u << 4)
#define EFLAGS_ZF	(1u << 6)
#define EFLAGS_SF	(1u << 7)
#define EFLAGS_DF	(1u << 10)
#define EFLAGS_OF	(1u << 11)
#define EFLAGS_ID	(1u << 21)

#define EFLAGS_GUEST	(EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_ZF | EFLAGS_SF | EFLAGS_TF | \
			 EFLAGS_DF | EFLAGS_OF | EFLAGS_AC | EFLAGS_ID)

#define SEL_TI		4u	/* the selector names the LDT, which guests do not have */

/* The descriptor sel names in the guest's GDT, or 0 (not present) if none. */
static seg_desc_t descriptor(u32 sel)
{
	if ((sel & SEL_TI) || (sel >> 3) >= GDT_ENTRIES || sel > 0xffff)
		return 0;
	return SWITCHER_RO->gdt[sel >> 3];
}

static bool usable(seg_desc_t d)
{
	return desc_present(d) && (seg_access(d) & SEG_S);
}

/* What iret to ring `cpl` accepts for cs, as far as umbra lets guests go. */
static const char *bad_code(u32 cs, u32 eip)
{
	seg_desc_t d = descriptor(cs);
	u8 access = seg_access(d);

	if ((cs & 3) != 1 && (cs & 3) != 3)
		return "code selector is not for ring 1 or 3";
	if (!usable(d) || !(access & SEG_CODE) || (access & SEG_CONFORMING) || desc_dpl(d) != (cs & 3))
		return "code selector does not name a code segment of its ring";
	if (eip > seg_limit(d))
		return "eip is beyond the code segment's limit";
	return NULL;
}

/*
 * ss: a writable, expand-up, 32-bit data segment of the new ring. A 16-bit
 * stack segment would come back with the ring-0 stack's high bits in ESP.
 */
static const char *bad_stack(u32 ss, u32 cpl)
{
	seg_desc_t d = descriptor(ss);
	u8 access = seg_access(d);

	if ((ss & 3) != cpl || !usable(d) || (access & SEG_CODE) || !(access & SEG_RW) ||
	    (access & SEG_CONFORMING) || desc_dpl(d) != cpl || !((d >> 52) & SEG_DB))
		return "stack selector does not name a 32-bit writable data segment of its ring";
	return NULL;
}

/* A data selector the Switcher can pop in ring 0: null, or readable with RPL <= DPL. */
static bool data_ok(u32 sel)
{
	seg_desc_t d = descriptor(sel);
	u8 access = seg_access(d);

	if ((sel & ~3u) == 0)
		return true;
	if (!usable(d) || ((access & SEG_CODE) && !(access & SEG_RW)))
		return false;
	return desc_dpl(d) >= (sel & 3);
}

/*
 * The GDT entries below the TLS slots never change, so a frame that uses
 * only them needs no descriptor read: the guest kernel's or its process's
 * code and stack pair, eip inside the common limit, and data selectors
 * that are null or one of the two data segments with an RPL they allow.
 */
/* Indexed by selector (below 64): 1 if it is null or one of the two data segments. */
static const u8 fixed_data_ok[64] = {
	[0] = 1, [1] = 1, [2] = 1, [3] = 1,
	[UMBRA_KERNEL_DS & ~3u] = 1, [UMBRA_KERNEL_DS] = 1,
	[UMBRA_USER_DS & ~3u] = 1, [(UMBRA_USER_DS & ~3u) + 1] = 1, [(UMBRA_USER_DS & ~3u) + 2] = 1,
	[UMBRA_USER_DS] = 1,
};

static bool fixed_frame(const struct guest_regs *r)
{
	u32 ds = r->ds, es = r->es, fs = r->fs, gs = r->gs;

	return ((r->cs == UMBRA_KERNEL_CS && r->ss == UMBRA_KERNEL_DS) ||
		(r->cs == UMBRA_USER_CS && r->ss == UMBRA_USER_DS)) &&
	       r->eip < SWITCHER_BASE && (ds | es | fs | gs) < 64 &&
	       (fixed_data_ok[ds] & fixed_data_ok[es] & fixed_data_ok[fs] & fixed_data_ok[gs]);
}

/* failsafe_test=: break the frame after it passed (see enum failsafe_test). */
#define FAILSAFE_ENTRY	100
#define LDT_SELECTOR	0x4	/* no LDT exists: the pop faults with #GP(4) */

static void break_frame(struct guest *g, struct guest_regs *r)
{
	u32 *sel[] = { [FAILSAFE_GS] = &r->gs, [FAILSAFE_FS] = &r->fs, [FAILSAFE_ES] = &r->es,
		       [FAILSAFE_DS] = &r->ds, [FAILSAFE_CS] = NULL };

	if (g->world_switches != FAILSAFE_ENTRY)
		return;
	if (g->failsafe_test == FAILSAFE_EIP)
		r->eip = 0xfffffff0u;
	else if (g->failsafe_test == FAILSAFE_CS)
		r->cs = LDT_SELECTOR | 1;
	else
		*sel[g->failsafe_test] = LDT_SELECTOR;
}

/* The full check, for frames that use the TLS slots. */
static void check_frame(struct guest *g, const struct guest_regs *r)
{
	const char *why = bad_code(r->cs, r->eip);

	if (!why)
		why = bad_stack(r->ss, r->cs & 3);
	if (!why && !(data_ok(r->ds) && data_ok(r->es) && data_ok(r->fs) && data_ok(r->gs)))
		why = "a data selector names no loadable segment";
	if (why)
		guest_kill(g, "cannot enter the guest: %s (cs 0x%x eip 0x%x ss 0x%x ds 0x%x es 0x%x "
			   "fs 0x%x gs 0x%x)", why, r->cs, r->eip, r->ss, r->ds, r->es, r->fs, r->gs);
}

u32 world_eflags(u32 eflags)
{
	return (eflags & EFLAGS_GUEST) | EFLAGS_IF | EFLAGS_RESERVED;
}

void world_prepare(struct guest *g, struct guest_regs *r)
{
	r->eflags = world_eflags(r->eflags);
	if (__builtin_expect(!fixed_frame(r), 0))
		check_frame(g, r);
	if (__builtin_expect(g->failsafe_test, 0))
		break_frame(g, r);
}

static const char *where(u32 eip)
{
	if (eip == (u32)(uintptr_t)switcher_pop_gs)
		return "loading gs";
	if (eip == (u32)(uintptr_t)switcher_pop_fs)
		return "loading fs";
	if (eip == (u32)(uintptr_t)switcher_pop_es)
		return "loading es";
	if (eip == (u32)(uintptr_t)switcher_pop_ds)
		return "loading ds";
	if (eip == (u32)(uintptr_t)switcher_iret)
		return "at its iret";
	return "elsewhere";
}

/*
 * The failsafe: the Switcher faulted in ring 0 after it started loading
 * the guest's state. world_prepare() should have made this impossible, so
 * it is the guest's state that is wrong, never the hypervisor's: end the
 * guest, naming the fault. The fault's frame lies below the register page's
 * registers and overwrote those already popped; the live values it saved
 * are the same, so they are put back first, for the message.
 */
#define FAULT_FRAME_BYTES	68	/* what lies below the esp the fault found */
#define POPPED_MAX		48	/* the segment and general registers */

static void failsafe(struct guest *g, struct guest_regs *frame)
{
	u32 esp = (u32)(uintptr_t)frame + FAULT_FRAME_BYTES, popped = esp - SW_REGS;
	u32 vector = frame->trapnum & 0xff, error = frame->errcode, at = frame->eip;
	struct guest_regs *r = SWITCHER_REGS;

	if (esp >= SW_REGS && esp <= SW_REGS + REGS_SIZE)
		memmove(r, frame, MIN(popped, POPPED_MAX));	/* may overwrite the frame */
	guest_kill(g, "the Switcher could not enter the guest: %s (vector %u, error code 0x%x) %s "
		   "(cs 0x%x eip 0x%x ss 0x%x ds 0x%x es 0x%x fs 0x%x gs 0x%x)",
		   vector_name(vector), vector, error, where(at), r->cs, r->eip, r->ss, r->ds,
		   r->es, r->fs, r->gs);
}

/*
 * The counts a guest's benchmarks read from its shared page, as they are
 * when it resumes (a hypercall already counted). Each trip in and out
 * loads CR3 twice, the guest's shadow and the hypervisor's own tables; the
 * GDT, IDT and TSS stay loaded.
 */
#define CR3_LOADS_PER_SWITCH	2
#define DESC_LOADS_PER_SWITCH	0

static void publish_counters(const struct guest *g, struct umbra_shared *s)
{
	s->world_switches = g->world_switches;
	s->hypercalls = g->calls;
	s->cr3_loads = g->world_switches * CR3_LOADS_PER_SWITCH;
	if (DESC_LOADS_PER_SWITCH)
		s->desc_loads = g->world_switches * DESC_LOADS_PER_SWITCH;
	s->shadow_faults = g->shadow.faults;
	s->reflected = g->exits[EXIT_REFLECTED];
}

void world_enter(struct guest *g, struct guest_regs *r)
{
	struct guest_regs *back;

	world_prepare(g, r);
	if (g->shared)
		publish_counters(g, g->shared);
	back = switcher_to_guest(shadow_cr3(g));
	g->world_switches++;
	if (back != r && (back->eflags & EFLAGS_VM))
		guest_kill(g, "the guest trapped (vector %u) from virtual-8086 mode, which an emulator's "
			   "iret let it enter; umbra runs no virtual-8086 code", back->trapnum & 0xff);
	if (back != r)
		failsafe(g, back);
}

u32 world_nmis(void)
{
	return *(volatile u32 *)(SW_REGS_PAGE + SW_NMI_COUNT);
}
