/*
 * Guests: creating one, the steps of its life (see the diagram in
 * guest.h), tearing it down, and its line-buffered console.
 */
#include <stdarg.h>
#include "guest.h"
#include "console.h"
#include "console_in.h"
#include "fpu.h"
#include "../lib/panic.h"
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

/*
 * Every frame of guest memory, zeroed, and the p2m leaves that list them.
 * Guest memory comes from above the one-to-one map first; the p2m, which
 * every shadow fault reads, stays in it.
 */
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
		m = frame_alloc_any_zeroed(FRAME_GUEST, g->id);
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
	g->state = GUEST_BUILDING;
	g->batch_entry = -1;
	strlcpy(g->name, name, sizeof(g->name));
	g->mem_bytes = mem_bytes;
	g->nr_pfns = mem_bytes >> PAGE_SHIFT;
	g->p2m_dir = MFN_NONE;
	if (!alloc_memory(g) || !shadow_init(g, shadows)) {
		snprintf(why, whylen, "not enough memory: %u KiB asked, %u KiB free",
			 mem_bytes / 1024, (frame_count(FRAME_FREE) + frame_count_guest(id)) * 4);
		guest_teardown(g);
		return NULL;
	}
	return g;
}

void guest_start(struct guest *g)
{
	BUG_ON(g->state != GUEST_BUILDING);
	g->state = GUEST_RUNNABLE;
}

void guest_teardown(struct guest *g)
{
	u32 left;

	BUG_ON(g->state == GUEST_FREE || g->state == GUEST_GONE);
	guest_console_flush(g);
	console_in_forget(g);
	fpu_forget(g);
	shadow_destroy(g);
	free_memory(g);
	left = frame_count_guest(g->id);
	if (left)
		kprintf("umbra: BUG: guest \"%s\" still owns %u frames after teardown\n",
			g->name, left);
	g->state = g->state == GUEST_BUILDING ? GUEST_FREE : GUEST_GONE;
}

/*
 * RUNNABLE or HALTED to DYING, killed with the reason (formatted, and
 * naming the MULTICALL entry it came from) and said on the console.
 */
static void mark_killed(struct guest *g, const char *fmt, va_list ap)
{
	int n;

	if (!guest_alive(g))
		return;
	n = vsnprintf(g->reason, sizeof(g->reason), fmt, ap);
	if (g->batch_entry >= 0 && n >= 0 && (size_t)n < sizeof(g->reason))
		snprintf(g->reason + n, sizeof(g->reason) - n, " (multicall entry %d)", g->batch_entry);
	g->killed = true;
	g->state = GUEST_DYING;
	guest_console_flush(g);
	kprintf("umbra: guest \"%s\" killed: %s\n", g->name, g->reason);
}

static void unwind(struct guest *g)
{
	if (g->unwind)
		unwind_jump(*g->unwind);
}

void guest_kill(struct guest *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mark_killed(g, fmt, ap);
	va_end(ap);
	unwind(g);
}

void guest_end(struct guest *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mark_killed(g, fmt, ap);
	va_end(ap);
}

void guest_exit(struct guest *g, u32 code)
{
	if (guest_alive(g)) {
		g->exit_code = code;
		g->state = GUEST_DYING;
		guest_console_flush(g);
		kprintf("umbra: guest \"%s\" shut down with exit code %u\n", g->name, code);
	}
	unwind(g);
}
