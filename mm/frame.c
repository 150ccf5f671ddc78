/*
 * The frame allocator (see frame.h): one struct frame per 4 KiB frame,
 * with its owner, owning guest and reference count, and a singly linked
 * list of the free ones threaded through the table itself, so that
 * allocation and release cost O(1) and need no memory of their own. A
 * count per owner is kept as frames change hands; the summary's "frames
 * free before and after" leak check and the `m` debug key read it.
 */
#include "frame.h"
#include "phys.h"
#include "window.h"
#include "../lib/panic.h"
#include "../lib/string.h"

#define LIST_END	((u32)-1)

enum { DIRECT, ABOVE };

mfn_t frames_direct;
static struct frame *frames;
static mfn_t nr_frames;
static u32 free_head[2] = { LIST_END, LIST_END };	/* [DIRECT], [ABOVE] */
static u32 nr_above;
static u32 counts[FRAME_OWNER_COUNT];
static u32 guest_counts[NO_GUEST];	/* frames each guest id owns, any owner kind */

static const char *const owner_names[FRAME_OWNER_COUNT] = {
	[FRAME_FREE] = "free",
	[FRAME_RESERVED] = "reserved",
	[FRAME_HYPERVISOR] = "hypervisor",
	[FRAME_MODULE] = "boot modules",
	[FRAME_PAGETABLE] = "page tables",
	[FRAME_SWITCHER] = "switcher",
	[FRAME_GUEST] = "guest memory",
	[FRAME_SHADOW] = "shadow tables",
};

const char *frame_owner_name(enum frame_owner owner)
{
	return owner < FRAME_OWNER_COUNT ? owner_names[owner] : "?";
}

static void set_owner(mfn_t mfn, enum frame_owner owner, u8 guest)
{
	counts[frames[mfn].owner]--;
	counts[owner]++;
	if (frames[mfn].guest != NO_GUEST)
		guest_counts[frames[mfn].guest]--;
	if (guest != NO_GUEST)
		guest_counts[guest]++;
	frames[mfn].owner = owner;
	frames[mfn].guest = guest;
}

static inline unsigned list_of(mfn_t m)
{
	return m < frames_direct ? DIRECT : ABOVE;
}

void frame_init(struct frame *table, mfn_t nframes, mfn_t direct)
{
	frames = table;
	nr_frames = nframes;
	frames_direct = MIN(direct, nframes);
	free_head[DIRECT] = free_head[ABOVE] = LIST_END;
	memset(counts, 0, sizeof(counts));
	memset(guest_counts, 0, sizeof(guest_counts));
	for (mfn_t i = 0; i < nframes; i++)
		frames[i] = (struct frame){ .next = LIST_END, .owner = FRAME_RESERVED, .guest = NO_GUEST };
	counts[FRAME_RESERVED] = nframes;
}

/* RAM ranges round inwards: a partial frame at either end is not RAM. */
void frame_add_ram(paddr_t start, paddr_t end)
{
	mfn_t first = ALIGN_UP((u64)start, PAGE_SIZE) >> PAGE_SHIFT;
	mfn_t last = end >> PAGE_SHIFT;

	for (mfn_t m = first; m < last && m < nr_frames; m++)
		if (frames[m].owner == FRAME_RESERVED)
			set_owner(m, FRAME_FREE, NO_GUEST);
}

/* Reserved ranges round outwards: a partial frame in use is in use. */
void frame_reserve(paddr_t start, paddr_t end, enum frame_owner owner)
{
	mfn_t first = start >> PAGE_SHIFT;
	mfn_t last = ALIGN_UP((u64)end, PAGE_SIZE) >> PAGE_SHIFT;

	for (mfn_t m = first; m < last && m < nr_frames; m++)
		if (frames[m].owner == FRAME_FREE)
			set_owner(m, owner, NO_GUEST);
}

/* Thread free frames so that each list hands out its low frames first. */
void frame_seal(void)
{
	free_head[DIRECT] = free_head[ABOVE] = LIST_END;
	nr_above = 0;
	for (mfn_t m = nr_frames; m-- > 0;) {
		if (m >= frames_direct && frames[m].owner != FRAME_RESERVED)
			nr_above++;
		if (frames[m].owner != FRAME_FREE)
			continue;
		frames[m].next = free_head[list_of(m)];
		free_head[list_of(m)] = m;
	}
}

static mfn_t take(unsigned list, enum frame_owner owner, u8 guest)
{
	mfn_t m = free_head[list];

	if (m == LIST_END)
		return MFN_NONE;
	free_head[list] = frames[m].next;
	frames[m].tag = FRAME_NO_TAG;
	frames[m].refs = 1;
	set_owner(m, owner, guest);
	return m;
}

mfn_t frame_alloc(enum frame_owner owner, u8 guest)
{
	return take(DIRECT, owner, guest);
}

mfn_t frame_alloc_any(enum frame_owner owner, u8 guest)
{
	mfn_t m = take(ABOVE, owner, guest);

	return m != MFN_NONE ? m : take(DIRECT, owner, guest);
}

mfn_t frame_alloc_any_zeroed(enum frame_owner owner, u8 guest)
{
	mfn_t m = frame_alloc_any(owner, guest);

	if (m != MFN_NONE)
		memset(frame_map(m), 0, PAGE_SIZE);
	return m;
}

mfn_t frame_alloc_zeroed(enum frame_owner owner, u8 guest)
{
	mfn_t m = frame_alloc(owner, guest);

	if (m != MFN_NONE)
		memset(mfn_to_virt(m), 0, PAGE_SIZE);
	return m;
}

void frame_get(mfn_t mfn)
{
	BUG_ON(mfn >= nr_frames || frames[mfn].owner == FRAME_FREE || frames[mfn].refs == 0xffff);
	frames[mfn].refs++;
}

void frame_put(mfn_t mfn)
{
	struct frame *f = &frames[mfn];

	BUG_ON(mfn >= nr_frames || f->owner == FRAME_FREE || !f->refs);
	if (--f->refs)
		return;
	set_owner(mfn, FRAME_FREE, NO_GUEST);
	f->next = free_head[list_of(mfn)];
	free_head[list_of(mfn)] = mfn;
}

const struct frame *frame_info(mfn_t mfn)
{
	return mfn < nr_frames ? &frames[mfn] : NULL;
}

void frame_set_tag(mfn_t mfn, u32 tag)
{
	BUG_ON(mfn >= nr_frames || frames[mfn].owner == FRAME_FREE);
	frames[mfn].tag = tag;
}

u32 frame_count(enum frame_owner owner)
{
	return counts[owner];
}

u32 frame_count_guest(u8 guest)
{
	return guest < NO_GUEST ? guest_counts[guest] : 0;
}

u32 frame_count_owned(enum frame_owner owner, u8 guest)
{
	u32 n = 0;

	for (mfn_t m = 0; m < nr_frames; m++)
		if (frames[m].owner == owner && frames[m].guest == guest)
			n++;
	return n;
}

u32 frame_total(void)
{
	return nr_frames;
}

u32 frame_count_above(void)
{
	return nr_above;
}
