/*
 * Reading and writing a guest's memory from the hypervisor, by
 * guest-physical address (the loader) or by guest-virtual address
 * (hypercall buffers, translated page by page through the guest's view).
 */
#ifndef UMBRA_HV_GUEST_MEM_H
#define UMBRA_HV_GUEST_MEM_H

#include "guest.h"

/* The hypervisor's pointer to a byte of guest memory; gpa must be inside it. */
static inline void *guest_phys_ptr(const struct guest *g, gpa_t gpa)
{
	return (u8 *)mfn_to_virt(guest_p2m(g, gpa >> PAGE_SHIFT)) + (gpa & ~PAGE_MASK);
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

#endif
