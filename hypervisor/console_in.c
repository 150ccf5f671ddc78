/*
 * Serial console input: one keyboard, many guests.
 *
 * Input goes to one place at a time: the guest with focus, into a small
 * buffer per guest that it drains with CONSOLE_READ, or the hypervisor's
 * debug keys. Ctrl-A three times in a row (two, then anything else, are
 * passed on as typed) moves the focus to the next guest that reads input,
 * then to the debug keys, then round again; the console says where input
 * goes now. The focus starts on the debug keys and moves to the first
 * guest that reads input, unless someone has moved it by hand. When the
 * guest with focus ends, the next one that reads input gets it. The guest
 * with focus has its output printed as it comes, not a line at a time
 * (guest_console.c), so that its prompt and its echo show.
 *
 * Nothing typed is lost while the guest with focus is not reading: it
 * waits in the guest's buffer. What overflows the buffer is dropped and
 * counted; the console says so when it starts, and how much when the
 * guest reads again.
 */
#include "console_in.h"
#include "console.h"
#include "debugkeys.h"
#include "guest_mem.h"
#include "reflect.h"
#include "../arch/x86/uart.h"

#define ESCAPE		0x01	/* Ctrl-A */
#define ESCAPES		3
#define NO_FOCUS	(-1)	/* the hypervisor's debug keys */

static int focus = NO_FOCUS;
static bool moved_by_hand;
static unsigned escapes;

static void announce(void)
{
	if (focus == NO_FOCUS)
		kprintf("umbra: console input goes to the hypervisor's debug keys "
			"(Ctrl-A three times for the next guest)\n");
	else
		kprintf("umbra: console input goes to guest \"%s\" (Ctrl-A three times to move on)\n",
			guests[focus].name);
}

/* The next guest after `from` that reads input, or NO_FOCUS after the last. */
static int next_reader(int from)
{
	for (int i = from + 1; i < MAX_GUESTS; i++)
		if (guest_alive(&guests[i]) && guests[i].in_reader)
			return i;
	return NO_FOCUS;
}

static void move_focus(void)
{
	focus = next_reader(focus);
	announce();
}

static void to_guest(struct guest *g, u8 c)
{
	if (g->in_len == CONSOLE_IN_BUF) {
		if (!g->in_dropped++)
			kprintf("umbra: guest \"%s\" is not reading its console input; "
				"what is typed now is dropped\n", g->name);
		return;
	}
	g->in_buf[(g->in_head + g->in_len++) % CONSOLE_IN_BUF] = c;
	raise_irq(g, UMBRA_IRQ_CONSOLE);
}

static void deliver(u8 c)
{
	if (focus == NO_FOCUS)
		debugkeys_handle(c);
	else
		to_guest(&guests[focus], c);
}

static void typed(u8 c)
{
	if (c == ESCAPE && ++escapes < ESCAPES)
		return;
	if (c == ESCAPE) {
		escapes = 0;
		moved_by_hand = true;
		move_focus();
		return;
	}
	for (; escapes; escapes--)
		deliver(ESCAPE);
	deliver(c);
}

void console_in_poll(void)
{
	int c;

	while ((c = uart_getc()) >= 0)
		typed((u8)c);
}

s32 console_in_read(struct guest *g, gva_t buf, u32 size)
{
	u32 n = 0;
	gva_t bad;

	if (size > CONSOLE_READ_MAX)
		guest_kill(g, "console_read: size %u exceeds %u", size, CONSOLE_READ_MAX);
	if (g->in_dropped && size) {
		kprintf("umbra: guest \"%s\": %u typed bytes were dropped while it did not read\n",
			g->name, g->in_dropped);
		g->in_dropped = 0;
	}
	if (!g->in_reader) {
		g->in_reader = true;
		if (focus == NO_FOCUS && !moved_by_hand) {
			focus = g->id;
			announce();
		}
	}
	while (n < size && g->in_len) {
		u32 run = MIN(MIN(size - n, (u32)g->in_len), (u32)(CONSOLE_IN_BUF - g->in_head));

		if (!guest_write_virt(g, buf + n, &g->in_buf[g->in_head], run, &bad))
			guest_kill(g, "console_read: buffer 0x%x+%u is not writable at 0x%x", buf, size, bad);
		g->in_head = (g->in_head + run) % CONSOLE_IN_BUF;
		g->in_len -= run;
		n += run;
	}
	return (s32)n;
}

bool console_in_focus(const struct guest *g)
{
	return focus == g->id;
}

/* The guest with focus ended: the next reader gets it, from the first if need be. */
void console_in_forget(struct guest *g)
{
	g->in_len = 0;
	if (focus != g->id)
		return;
	focus = next_reader(g->id);
	if (focus == NO_FOCUS)
		focus = next_reader(NO_FOCUS);
	announce();
}
