#include <stdarg.h>
#include "guest.h"
#include "console.h"
#include "../mm/frame.h"
#include "../mm/phys.h"
#include "../lib/format.h"
#include "../lib/string.h"

struct guest guests[MAX_GUESTS];
struct guest *current_guest;

static struct guest *free_slot(void)
{
	for (unsigned i = 0; i < MAX_GUESTS; i++)
		if (guests[i].state == GUEST_FREE)
			return &guests[i];
	return NULL;
}

/* Every frame of guest memory, zeroed, and the p2m leaves that list them. */
static bool alloc_memory(struct guest *g)
{
	mfn_t *dir;

	g->p2m_dir = frame_alloc_zeroed(FRAME_GUEST, g->id);
	if (g->p2m_dir == MFN_NONE)
		return false;
	dir = mfn_to_virt(g->p2m_dir);
	for (pfn_t pfn = 0; pfn < g->nr_pfns; pfn++) {
		mfn_t *leaf, m;

		if (pfn % P2M_PER_PAGE == 0) {
			dir[pfn / P2M_PER_PAGE] = frame_alloc(FRAME_GUEST, g->id);
			if (dir[pfn / P2M_PER_PAGE] == MFN_NONE)
				return false;
			memset(mfn_to_virt(dir[pfn / P2M_PER_PAGE]), 0xff, PAGE_SIZE);
		}
		m = frame_alloc_zeroed(FRAME_GUEST, g->id);
		if (m == MFN_NONE)
			return false;
		leaf = mfn_to_virt(dir[pfn / P2M_PER_PAGE]);
		leaf[pfn % P2M_PER_PAGE] = m;
	}
	return true;
}

static void free_memory(struct guest *g)
{
	mfn_t *dir;

	if (g->p2m_dir == MFN_NONE)
		return;
	dir = mfn_to_virt(g->p2m_dir);
	for (unsigned i = 0; i < P2M_PER_PAGE; i++) {
		mfn_t *leaf = mfn_to_virt(dir[i]);

		if (dir[i] == 0 || dir[i] == MFN_NONE)
			break;
		for (unsigned j = 0; j < P2M_PER_PAGE && leaf[j] != MFN_NONE; j++)
			frame_put(leaf[j]);
		frame_put(dir[i]);
	}
	frame_put(g->p2m_dir);
	g->p2m_dir = MFN_NONE;
}

struct guest *guest_create(const char *name, u32 mem_bytes, u32 shadows, char *why, size_t whylen)
{
	struct guest *g = free_slot();
	u8 id;

	if (!g) {
		snprintf(why, whylen, "no free guest slot (at most %u guests)", MAX_GUESTS);
		return NULL;
	}
	id = (u8)(g - guests);
	memset(g, 0, sizeof(*g));
	g->id = id;
	g->state = GUEST_DEAD;
	strlcpy(g->name, name, sizeof(g->name));
	g->mem_bytes = mem_bytes;
	g->nr_pfns = mem_bytes >> PAGE_SHIFT;
	g->p2m_dir = MFN_NONE;
	if (!alloc_memory(g) || !shadow_init(g, shadows)) {
		snprintf(why, whylen, "not enough memory: %u KiB asked, %u KiB free",
			 mem_bytes / 1024, (frame_count(FRAME_FREE) + frame_count_guest(id)) * 4);
		guest_destroy(g);
		g->state = GUEST_FREE;
		return NULL;
	}
	g->state = GUEST_RUNNABLE;
	return g;
}

void guest_destroy(struct guest *g)
{
	guest_console_flush(g);
	shadow_destroy(g);
	free_memory(g);
	g->state = GUEST_GONE;
}

void guest_kill(struct guest *g, const char *fmt, ...)
{
	va_list ap;

	if (g->state != GUEST_RUNNABLE && g->state != GUEST_HALTED)
		return;
	va_start(ap, fmt);
	vsnprintf(g->reason, sizeof(g->reason), fmt, ap);
	va_end(ap);
	g->killed = true;
	g->state = GUEST_DEAD;
	guest_console_flush(g);
	kprintf("umbra: guest \"%s\" killed: %s\n", g->name, g->reason);
}

void guest_exit(struct guest *g, u32 code)
{
	g->exit_code = code;
	g->state = GUEST_DEAD;
	guest_console_flush(g);
	kprintf("umbra: guest \"%s\" shut down with exit code %u\n", g->name, code);
}

void guest_console_flush(struct guest *g)
{
	if (!g->line_len)
		return;
	g->line[g->line_len] = '\0';
	kprintf("[%s] %s\n", g->name, g->line);
	g->line_len = 0;
}

void guest_console(struct guest *g, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\n') {
			if (!g->line_len)
				kprintf("[%s]\n", g->name);
			guest_console_flush(g);
			continue;
		}
		if (c == '\r')
			continue;
		if ((u8)c < ' ' && c != '\t')
			c = '?';
		g->line[g->line_len++] = c;
		if (g->line_len == sizeof(g->line) - 1)
			guest_console_flush(g);
	}
}
