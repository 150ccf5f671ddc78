/*
 * Hypercalls. Each handler gets the guest and its saved registers, checks
 * every argument (they come from the guest and mean nothing until checked)
 * and returns the value the guest sees in eax. A handler that finds an
 * argument only a broken or hostile guest would pass kills the guest and
 * names the call; the return value is then never seen.
 */
#include "hypercall.h"
#include "guest_mem.h"
#include "../guest-abi/include/umbra/hypercall.h"

typedef s32 (*hcall_fn)(struct guest *g, struct guest_regs *r);

/* Longest console write in one call; a longer one is a guest bug. */
#define CONSOLE_WRITE_MAX	4096

static s32 hc_console_write(struct guest *g, struct guest_regs *r)
{
	gva_t buf = r->ebx, bad;
	u32 len = r->ecx;
	char chunk[128];

	if (len > CONSOLE_WRITE_MAX) {
		guest_kill(g, "console_write: length %u exceeds %u", len, CONSOLE_WRITE_MAX);
		return UMBRA_EINVAL;
	}
	for (u32 done = 0; done < len;) {
		u32 n = MIN(len - done, sizeof(chunk));

		if (!guest_read_virt(g, chunk, buf + done, n, &bad)) {
			guest_kill(g, "console_write: buffer 0x%x+%u is not mapped at 0x%x",
				   buf, len, bad);
			return UMBRA_EINVAL;
		}
		guest_console(g, chunk, n);
		done += n;
	}
	return (s32)len;
}

static s32 hc_shutdown(struct guest *g, struct guest_regs *r)
{
	guest_exit(g, r->ebx);
	return 0;
}

static s32 hc_yield(struct guest *g, struct guest_regs *r)
{
	(void)r;
	g->yielded = true;
	return 0;
}

static const hcall_fn hcalls[UMBRA_HC_COUNT] = {
	[UMBRA_HC_CONSOLE_WRITE] = hc_console_write,
	[UMBRA_HC_SHUTDOWN] = hc_shutdown,
	[UMBRA_HC_YIELD] = hc_yield,
};

void hypercall(struct guest *g, struct guest_regs *r)
{
	u32 nr = r->eax;

	g->hypercalls++;
	if (nr >= UMBRA_HC_COUNT || !hcalls[nr]) {
		guest_kill(g, "unknown hypercall %u", nr);
		return;
	}
	r->eax = (u32)hcalls[nr](g, r);
}
