/*
 * Physical frames: a free list threaded through the free frames, a
 * reference count per frame (pages shared copy-on-write), and a reserve
 * that demand-zero pages draw on, so that a promise made at sbrk or mmap
 * time is kept at fault time.
 */
#ifndef PENUMBRA_FRAME_H
#define PENUMBRA_FRAME_H

#include <stdbool.h>
#include <stdint.h>

void frame_init(uint32_t start, uint32_t end);
uint32_t frame_alloc(void);		/* a zeroed frame, or 0 */
uint32_t frame_alloc_reserved(void);	/* one frame of the reserve, zeroed */
void frame_get(uint32_t pa);
void frame_put(uint32_t pa);
unsigned frame_refs(uint32_t pa);

bool frame_reserve(uint32_t n);		/* false: not that many left */
void frame_unreserve(uint32_t n);

uint32_t frame_free_count(void);
uint32_t frame_total(void);
uint32_t frame_reserved(void);
uint64_t frame_zeroed(void);		/* frames zeroed since boot */

#endif
