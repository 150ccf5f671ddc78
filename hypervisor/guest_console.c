/*
 * A guest's console: its bytes, filtered, gathered into lines and printed
 * with the guest's name in front, within a budget.
 *
 * The terminal on the other end belongs to the operator, so a guest gets
 * printable ASCII and tabs only; every other byte (C0 and C1 controls,
 * which would let it move the cursor or reprogram the terminal, and bytes
 * from 0x7f up) is shown as '?'.
 *
 * The budget is a token bucket per guest, in bytes that reach the console
 * (the name in front included): CONSOLE_BURST at once, refilled at
 * CONSOLE_RATE per second. A guest that floods the console has its lines
 * cut, not delayed, while it is over budget; the console says so when
 * that starts and how much was cut when it ends. This also bounds what
 * one console_write can cost, whatever it holds (4,096 newlines become
 * 4,096 lines, each with the name in front).
 */
#include "guest.h"
#include "console.h"
#include "timer.h"
#include "../arch/x86/cpu.h"
#include "../lib/string.h"

#define CONSOLE_BURST	(32 * 1024)
#define CONSOLE_RATE	(16 * 1024)	/* bytes per second */

static void refill(struct guest *g)
{
	u64 now = rdtsc(), elapsed = MIN(now - g->con_refill_tsc, 1ull << 40);
	u64 add = elapsed * CONSOLE_RATE / ((u64)tsc_khz * 1000);

	if (!g->con_refill_tsc) {
		g->con_tokens = CONSOLE_BURST;
		g->con_refill_tsc = now;
	} else if (add) {
		g->con_tokens = (u32)MIN((u64)g->con_tokens + add, (u64)CONSOLE_BURST);
		g->con_refill_tsc = now;
	}
}

static void report_cut(struct guest *g)
{
	if (g->con_cut)
		kprintf("umbra: guest \"%s\": %u bytes of console output were cut\n", g->name, g->con_cut);
	g->con_cut = 0;
	g->con_over = false;
}

/* Whether `cost` bytes of output fit the budget now; charge them if so. */
static bool within_budget(struct guest *g, u32 cost)
{
	refill(g);
	if (g->con_tokens >= cost) {
		g->con_tokens -= cost;
		if (g->con_over)
			report_cut(g);
		return true;
	}
	if (!g->con_over)
		kprintf("umbra: guest \"%s\" is over its console budget (%u KiB at once, %u KiB/s); "
			"its output is cut until it slows down\n", g->name, CONSOLE_BURST / 1024,
			CONSOLE_RATE / 1024);
	g->con_over = true;
	g->con_cut += cost;
	return false;
}

void guest_console_flush(struct guest *g)
{
	u32 len = g->line_len;

	g->line_len = 0;
	if (len && within_budget(g, (u32)strlen(g->name) + 3 + len)) {
		g->line[len] = '\0';
		kprintf("[%s] %s\n", g->name, g->line);
	}
	if (g->state == GUEST_DYING || g->state == GUEST_GONE)
		report_cut(g);
}

void guest_console(struct guest *g, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		u8 c = (u8)s[i];

		if (c == '\n') {
			if (!g->line_len && within_budget(g, (u32)strlen(g->name) + 3))
				kprintf("[%s]\n", g->name);
			guest_console_flush(g);
			continue;
		}
		if (c == '\r')
			continue;
		if ((c < ' ' && c != '\t') || c >= 0x7f)
			c = '?';
		g->line[g->line_len++] = (char)c;
		if (g->line_len == sizeof(g->line) - 1)
			guest_console_flush(g);
	}
}
