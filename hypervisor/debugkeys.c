/*
 * Debug keys: letters typed on the serial console while guests run, each
 * printing one view of the hypervisor's state (guests, memory, registers,
 * shadow tables).
 */
#include "debugkeys.h"
#include "console.h"
#include "guest.h"
#include "hypercall.h"
#include "timer.h"
#include "../arch/x86/switcher.h"
#include "../arch/x86/uart.h"
#include "../mm/frame.h"

static const char *const state_names[GUEST_STATES] = {
	[GUEST_FREE] = "free", [GUEST_BUILDING] = "building", [GUEST_RUNNABLE] = "runnable",
	[GUEST_HALTED] = "halted", [GUEST_DYING] = "dying", [GUEST_GONE] = "ended",
};

static void list_hypercalls(const struct guest *g)
{
	bool any = false;

	for (u32 nr = 0; nr < UMBRA_HC_COUNT; nr++) {
		if (!g->hcalls[nr])
			continue;
		kprintf("%s %s %u", any ? "," : "umbra:     hypercalls:", hcall_name(nr), g->hcalls[nr]);
		any = true;
	}
	if (any)
		kprintf("\n");
}

static void list_guests(void)
{
	kprintf("umbra: %-3s %-16s %-9s %8s %10s %10s %9s %9s %9s %9s\n", "id", "guest", "state",
		"mem KiB", "run ms", "switches", "hcalls", "faults", "reflected", "irqs");
	for (unsigned i = 0; i < MAX_GUESTS; i++) {
		const struct guest *g = &guests[i];

		if (g->state == GUEST_FREE)
			continue;
		kprintf("umbra: %-3u %-16s %-9s %8u %10llu %10llu %9llu %9llu %9llu %9llu\n", g->id,
			g->name, state_names[g->state], g->mem_bytes / 1024, g->run_tsc / tsc_khz,
			g->world_switches, g->exits[EXIT_HYPERCALL], g->exits[EXIT_SHADOW_FAULT],
			g->exits[EXIT_REFLECTED], g->exits[EXIT_INTERRUPT]);
		list_hypercalls(g);
	}
}

static void show_memory(void)
{
	kprintf("umbra: memory by owner (KiB):");
	for (unsigned o = 0; o < FRAME_OWNER_COUNT; o++)
		kprintf(" %s %u%s", frame_owner_name(o), frame_count(o) * 4,
			o + 1 < FRAME_OWNER_COUNT ? "," : "\n");
	for (unsigned i = 0; i < MAX_GUESTS; i++)
		if (guests[i].state != GUEST_FREE && guests[i].state != GUEST_GONE)
			kprintf("umbra:   guest \"%s\": %u KiB\n", guests[i].name,
				frame_count_guest(guests[i].id) * 4);
}

static void show_registers(void)
{
	const struct guest_regs *r = SWITCHER_REGS;

	if (!current_guest) {
		kprintf("umbra: no guest is running (idle)\n");
		return;
	}
	kprintf("umbra: guest \"%s\" registers at its last exit (vector %u):\n",
		current_guest->name, r->trapnum);
	kprintf("  eip %08x  cs %04x  eflags %08x  esp %08x  ss %04x\n",
		r->eip, r->cs, r->eflags, r->esp, r->ss);
	kprintf("  eax %08x  ebx %08x  ecx %08x  edx %08x\n", r->eax, r->ebx, r->ecx, r->edx);
	kprintf("  esi %08x  edi %08x  ebp %08x  ds %04x es %04x fs %04x gs %04x\n",
		r->esi, r->edi, r->ebp, r->ds, r->es, r->fs, r->gs);
}

static void show_shadows(void)
{
	for (unsigned i = 0; i < MAX_GUESTS; i++) {
		const struct guest *g = &guests[i];

		if (g->state == GUEST_FREE || g->state == GUEST_GONE)
			continue;
		shadow_print_stats(g);
	}
}

void debugkeys_handle(int key)
{
	switch (key) {
	case 'g': list_guests(); break;
	case 'm': show_memory(); break;
	case 'r': show_registers(); break;
	case 's': show_shadows(); break;
	case 'h':
	case '?':
		kprintf("umbra: debug keys: g guests, m memory, r registers, s shadow tables, h help\n");
		break;
	}
}
