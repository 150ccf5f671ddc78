/*
 * Copying to and from a guest's memory, by guest-physical address or
 * through the guest's own page tables, for hypercall arguments.
 */
#include "guest_mem.h"
#include "../mm/phys.h"
#include "../lib/string.h"

bool guest_write_phys(struct guest *g, gpa_t dst, const void *src, u32 len)
{
	const u8 *s = src;

	if (dst > g->mem_bytes || len > g->mem_bytes - dst)
		return false;
	while (len) {
		u32 n = MIN(len, PAGE_SIZE - (dst & ~PAGE_MASK));

		memcpy(guest_phys_ptr(g, dst), s, n);
		dst += n, s += n, len -= n;
	}
	return true;
}

/* Walk [va, va+len) page by page through the guest's view, copying. */
static bool copy_virt(struct guest *g, gva_t va, u8 *buf, u32 len, bool write, gva_t *bad)
{
	while (len) {
		u32 n = MIN(len, PAGE_SIZE - (va & ~PAGE_MASK));
		gpa_t gpa;

		if (!shadow_translate(g, va, write, &gpa) || gpa >= g->mem_bytes) {
			*bad = va;
			return false;
		}
		if (write)
			memcpy(guest_phys_ptr(g, gpa), buf, n);
		else
			memcpy(buf, guest_phys_ptr(g, gpa), n);
		va += n, buf += n, len -= n;
		if (len && !va) {	/* wrapped past 4 GiB */
			*bad = va;
			return false;
		}
	}
	return true;
}

bool guest_read_virt(struct guest *g, void *dst, gva_t src, u32 len, gva_t *bad)
{
	return copy_virt(g, src, dst, len, false, bad);
}

bool guest_write_virt(struct guest *g, gva_t dst, const void *src, u32 len, gva_t *bad)
{
	return copy_virt(g, dst, (u8 *)src, len, true, bad);
}

bool guest_span_get(struct guest *g, gva_t va, u32 len, bool write, struct guest_span *sp,
		    gva_t *bad)
{
	u32 first = MIN(len, PAGE_SIZE - (va & ~PAGE_MASK));

	*sp = (struct guest_span){ .first = first, .len = len };
	for (unsigned i = 0; i < 2 && (i == 0 || len > first); i++) {
		gva_t at = i ? va + first : va;

		if ((i && at < va) || !shadow_translate(g, at, write, &sp->at[i]) ||
		    sp->at[i] >= g->mem_bytes) {
			*bad = at;
			return false;
		}
	}
	return true;
}

void guest_span_copy(struct guest *g, const struct guest_span *sp, void *buf, u32 len, bool to_guest)
{
	for (unsigned i = 0, done = 0; i < 2 && done < len; i++) {
		u32 n = MIN(len - done, i ? sp->len - sp->first : sp->first);
		u8 *guest = guest_phys_ptr(g, sp->at[i]);

		if (to_guest)
			memcpy(guest, (u8 *)buf + done, n);
		else
			memcpy((u8 *)buf + done, guest, n);
		done += n;
	}
}
