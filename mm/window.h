/*
 * Reaching any frame of RAM from the hypervisor.
 *
 * The hypervisor maps RAM one-to-one up to WINDOW_BASE (frames below
 * frames_direct). Frames above that, in the PAE build the RAM above 4 GiB,
 * are reached through the window: WINDOW_SLOTS page-sized slots at
 * WINDOW_BASE, each mapping one frame at a time. Only guest memory lives
 * there (frame_alloc_any()); every table and structure of the hypervisor's
 * own stays in the one-to-one map, so a shadow walk never needs a slot.
 *
 * The first WINDOW_PINS slots are pinned, one per user that keeps a
 * pointer for long (a guest's shared page). The rest form a ring, reused
 * in order: a pointer from frame_map() stays good while fewer than
 * WINDOW_RING further frames are mapped, which no caller comes near (none
 * holds more than two at once). Interrupt handlers must not call it.
 */
#ifndef UMBRA_MM_WINDOW_H
#define UMBRA_MM_WINDOW_H

#include "phys.h"

#define WINDOW_BASE	0xff800000u	/* 4 MiB-aligned: large pages of both formats end here */
#define WINDOW_SLOTS	512u
#define WINDOW_PINS	64u
#define WINDOW_RING	(WINDOW_SLOTS - WINDOW_PINS)

/* Frames below this are mapped one-to-one; set once, at boot (frame.c). */
extern mfn_t frames_direct;

#ifdef UMBRA_HOSTED
/* Host-side tests simulate only one-to-one RAM. */
static inline void *frame_map(mfn_t m) { return mfn_to_virt(m); }
static inline void *window_pin(unsigned pin, mfn_t m) { (void)pin; return mfn_to_virt(m); }
#else
void window_init(void *leaf_table);
void *window_map(mfn_t m);

/* The hypervisor's pointer to frame m, valid as said above. */
static inline void *frame_map(mfn_t m)
{
	return __builtin_expect(m < frames_direct, 1) ? mfn_to_virt(m) : window_map(m);
}

/* The same, in pinned slot `pin` (below WINDOW_PINS): good until pinned again. */
void *window_pin(unsigned pin, mfn_t m);
#endif

#endif
