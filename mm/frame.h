/*
 * The frame allocator: every 4 KiB frame of RAM, who owns it, and how many
 * references it has.
 *
 * Built in three steps at boot: frame_init() over a table the caller placed,
 * frame_add_ram() for each usable range of the memory map, frame_reserve()
 * for what is already in use, then frame_seal() threads the free frames
 * into two lists: those the hypervisor maps one-to-one (below
 * frames_direct) and those above, which it reaches only through the
 * mapping window (window.h). After that, allocation and release are O(1).
 * Exhaustion is an ordinary error: frame_alloc() returns MFN_NONE.
 */
#ifndef UMBRA_MM_FRAME_H
#define UMBRA_MM_FRAME_H

#include "../lib/types.h"

enum frame_owner {
	FRAME_FREE,
	FRAME_RESERVED,		/* not RAM, firmware, the low 1 MiB */
	FRAME_HYPERVISOR,	/* the image, the frame table, boot data */
	FRAME_MODULE,		/* a boot module (a guest's ELF image) */
	FRAME_PAGETABLE,	/* the hypervisor's own page tables */
	FRAME_SWITCHER,
	FRAME_GUEST,		/* guest memory and its frame map */
	FRAME_SHADOW,		/* a shadow page table */
	FRAME_OWNER_COUNT
};

#define MFN_NONE	((mfn_t)-1)
#define NO_GUEST	0xff

#define FRAME_NO_TAG	((u32)-1)

struct frame {
	union {
		u32 next;	/* next free frame, while free */
		u32 tag;	/* the owner's word while allocated; FRAME_NO_TAG at first */
	};
	u16 refs;
	u8 owner;		/* enum frame_owner */
	u8 guest;		/* owning guest's id, or NO_GUEST */
};

/* A table for frames [0, nframes), of which [0, direct) are mapped one-to-one. */
void frame_init(struct frame *table, mfn_t nframes, mfn_t direct);
void frame_add_ram(paddr_t start, paddr_t end);
void frame_reserve(paddr_t start, paddr_t end, enum frame_owner owner);
void frame_seal(void);

/* A frame in the one-to-one map, which mfn_to_virt() reaches. */
mfn_t frame_alloc(enum frame_owner owner, u8 guest);
mfn_t frame_alloc_zeroed(enum frame_owner owner, u8 guest);
/*
 * A frame from anywhere, above the one-to-one map first (to keep that for
 * what only it can hold), reached through frame_map(): for guest memory.
 */
mfn_t frame_alloc_any(enum frame_owner owner, u8 guest);
mfn_t frame_alloc_any_zeroed(enum frame_owner owner, u8 guest);
void frame_get(mfn_t mfn);
void frame_put(mfn_t mfn);

const struct frame *frame_info(mfn_t mfn);
void frame_set_tag(mfn_t mfn, u32 tag);
u32 frame_count(enum frame_owner owner);
u32 frame_count_guest(u8 guest);
u32 frame_count_owned(enum frame_owner owner, u8 guest);
u32 frame_total(void);
/* Frames above the one-to-one map that are RAM (in use or free). */
u32 frame_count_above(void);
const char *frame_owner_name(enum frame_owner owner);

#endif
