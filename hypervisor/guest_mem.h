/*
 * Reading and writing a guest's memory from the hypervisor, by
 * guest-physical address (the loader) or by guest-virtual address
 * (hypercall buffers, translated page by page through the guest's view).
 */
#ifndef UMBRA_HV_GUEST_MEM_H
#define UMBRA_HV_GUEST_MEM_H

#include "guest.h"
#include "../mm/window.h"

/*
 * The hypervisor's pointer to a byte of guest memory; gpa must be inside
 * it. Good to the end of its page, for as long as frame_map() promises.
 */
static inline void *guest_phys_ptr(const struct guest *g, gpa_t gpa)
{
	return (u8 *)frame_map(guest_p2m(g, gpa >> PAGE_SHIFT)) + (gpa & ~PAGE_MASK);
}

/* False, and nothing copied, if any byte lies outside guest memory. */
bool guest_write_phys(struct guest *g, gpa_t dst, const void *src, u32 len);

/*
 * Copy len bytes at guest-virtual src. On failure returns false and sets
 * *bad to the first address the guest cannot read.
 */
bool guest_read_virt(struct guest *g, void *dst, gva_t src, u32 len, gva_t *bad);

/* Copy len bytes to guest-virtual dst, as a supervisor write. */
bool guest_write_virt(struct guest *g, gva_t dst, const void *src, u32 len, gva_t *bad);

/*
 * A guest buffer of at most a page, translated once for reading and
 * writing it more than once (a MULTICALL list: its entries read, their
 * results written back where they were read from).
 */
struct guest_span {
	gpa_t at[2];		/* where each of its (at most two) pages' parts lives */
	u32 first;		/* bytes in the first page */
	u32 len;
};

/* False, with *bad the first address that is not mapped (writable if `write`). */
bool guest_span_get(struct guest *g, gva_t va, u32 len, bool write, struct guest_span *sp,
		    gva_t *bad);
/* Copy the span's first len bytes to buf, or buf to them if to_guest. */
void guest_span_copy(struct guest *g, const struct guest_span *sp, void *buf, u32 len, bool to_guest);

#endif
