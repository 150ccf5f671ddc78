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
 * CONSOLE_RATE per second. The figures follow from the console: the UART
 * sends about 11 KiB/s at 115200 baud, so one guest within its rate never
 * falls behind it, and a whole burst fits the UART's output buffer beside
 * the room kept for the hypervisor's own lines (console.h). Several guests
 * together can still outrun the UART: a line that finds no room in the
 * buffer is cut too. A guest that floods the console has its lines cut,
 * not delayed, while it is over budget or the buffer is full; the console
 * says so when that starts and how much was cut when it ends. So nothing
 * a guest writes makes the hypervisor wait for the UART. Apart from that,
 * one console_write prints at most CONSOLE_PER_CALL bytes, and the rest of
 * it is cut (and said so): this bounds the work one call can do whatever
 * it holds (4,096 newlines would be 4,096 lines, each with the name in
 * front).
 */
#include "guest.h"
#include "console.h"
#include "console_in.h"
#include "timer.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/uart.h"
#include "../lib/string.h"

#define CONSOLE_BURST	(16 * 1024)
#define CONSOLE_RATE	(8 * 1024)	/* bytes per second */
#define CONSOLE_PER_CALL	2048

_Static_assert(CONSOLE_BURST + CONSOLE_PER_CALL <= UART_TX_RING - CONSOLE_RESERVE,
	       "a guest's whole burst fits the console's buffer");

void guest_console_call(struct guest *g)
{
	g->con_call_left = CONSOLE_PER_CALL;
	g->con_call_cut = 0;
}

void guest_console_call_end(struct guest *g)
{
	if (g->con_call_cut)
		kprintf("umbra: guest \"%s\": one console_write may print %u bytes; %u more were cut\n",
			g->name, CONSOLE_PER_CALL, g->con_call_cut);
	g->con_call_cut = 0;
}

/* Lines come faster than a byte's worth of time passes: no division then. */
static void refill(struct guest *g)
{
	u64 now = rdtsc(), per_byte = (u64)tsc_khz * 1000 / CONSOLE_RATE;
	u64 elapsed = now - g->con_refill_tsc, add;

	if (!g->con_refill_tsc) {
		g->con_tokens = CONSOLE_BURST;
		g->con_refill_tsc = now;
		return;
	}
	if (elapsed < per_byte)
		return;
	add = MIN(elapsed, 1ull << 40) / per_byte;
	g->con_tokens = (u32)MIN((u64)g->con_tokens + add, (u64)CONSOLE_BURST);
	g->con_refill_tsc = now;
}

static void report_cut(struct guest *g)
{
	if (g->con_cut)
		kprintf("umbra: guest \"%s\": %u bytes of console output were cut\n", g->name, g->con_cut);
	g->con_cut = 0;
	g->con_over = false;
}

/*
 * Whether `cost` bytes of output fit the budget now; charge them if so. A
 * guest over budget gets its console back once half the burst has
 * refilled, so that a flood is one episode on the console, not many.
 */
static bool within_budget(struct guest *g, u32 cost)
{
	if (g->con_call_left < cost) {		/* the rest of this call is cut */
		g->con_call_left = 0;
		if (g->con_over)
			g->con_cut += cost;
		else
			g->con_call_cut += cost;
		return false;
	}
	refill(g);
	if (!console_has_room(cost)) {
		if (!g->con_over)
			kprintf("umbra: guest \"%s\": the console is %u KiB behind the UART; "
				"its output is cut until the UART catches up\n", g->name,
				(UART_TX_RING - uart_tx_room()) / 1024);
	} else if (g->con_tokens >= cost && (!g->con_over || g->con_tokens >= CONSOLE_BURST / 2)) {
		g->con_tokens -= cost;
		g->con_call_left -= cost;
		if (g->con_over)
			report_cut(g);
		return true;
	} else if (!g->con_over) {
		kprintf("umbra: guest \"%s\" is over its console budget (%u KiB at once, %u KiB/s); "
			"its output is cut until it slows down\n", g->name, CONSOLE_BURST / 1024,
			CONSOLE_RATE / 1024);
	}
	g->con_call_left = 0;	/* no refill to speak of before this call ends: cut the rest */
	g->con_over = true;
	g->con_cut += cost;
	return false;
}

/* "[name] line" or, for an empty line, "[name]": written out, not formatted. */
static void print_line(struct guest *g, const char *line, u32 len)
{
	size_t name = strlen(g->name);

	if (!within_budget(g, (u32)name + 3 + (len ? len + 1 : 0)))	/* as printed, "\n" included */
		return;
	console_write("[", 1);
	console_write(g->name, name);
	console_write(len ? "] " : "]", len ? 2 : 1);
	console_write(line, len);
	console_write("\n", 1);
}

void guest_console_flush(struct guest *g)
{
	u32 len = g->line_len;

	g->line_len = 0;
	if (len)
		print_line(g, g->line, len);
	console_close_line(g);
	if (g->state == GUEST_DYING || g->state == GUEST_GONE)
		report_cut(g);
}

/*
 * The guest with console focus is being typed at: its output goes out as
 * it comes, so its prompt shows before Enter and its echo as keys arrive.
 * Backspace passes too, for its line editing.
 */
static void as_it_comes(struct guest *g, const char *s, size_t n)
{
	size_t name = strlen(g->name);

	for (size_t i = 0; i < n; i++) {
		u8 c = (u8)s[i];

		if (c == '\r')
			continue;
		if (c == '\n') {
			if (!console_line_open(g))
				print_line(g, "", 0);
			else
				console_close_line(g);
			continue;
		}
		if ((c < ' ' && c != '\t' && c != '\b') || c >= 0x7f)
			c = '?';
		if (!within_budget(g, console_line_open(g) ? 1 : (u32)name + 3))
			continue;
		if (!console_line_open(g)) {
			console_write_open(g, "[", 1);
			console_write_open(g, g->name, name);
			console_write_open(g, "] ", 2);
		}
		console_write_open(g, (const char *)&c, 1);
	}
}

/*
 * Once part of a call is cut, the rest still goes through the lines, so
 * that a line the cut ends in the middle is cut whole, and what is cut is
 * counted as what it would have printed.
 */
void guest_console(struct guest *g, const char *s, size_t n)
{
	if (console_in_focus(g) && !g->line_len) {
		as_it_comes(g, s, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		u8 c = (u8)s[i];

		if (c == '\n') {
			if (!g->line_len)
				print_line(g, "", 0);
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
