#include "guest_mem.h"
#include "../mm/phys.h"
#include "../lib/string.h"

static void *gpa_ptr(const struct guest *g, gpa_t gpa)
{
	return (u8 *)mfn_to_virt(guest_p2m(g, gpa >> PAGE_SHIFT)) + (gpa & ~PAGE_MASK);
}

bool guest_write_phys(struct guest *g, gpa_t dst, const void *src, u32 len)
{
	const u8 *s = src;

	if (dst > g->mem_bytes || len > g->mem_bytes - dst)
		return false;
	while (len) {
		u32 n = MIN(len, PAGE_SIZE - (dst & ~PAGE_MASK));

		memcpy(gpa_ptr(g, dst), s, n);
		dst += n, s += n, len -= n;
	}
	return true;
}

bool guest_read_virt(struct guest *g, void *dst, gva_t src, u32 len, gva_t *bad)
{
	u8 *d = dst;

	while (len) {
		u32 n = MIN(len, PAGE_SIZE - (src & ~PAGE_MASK));
		gpa_t gpa;

		if (!shadow_translate(g, src, false, &gpa) || gpa >= g->mem_bytes) {
			*bad = src;
			return false;
		}
		memcpy(d, gpa_ptr(g, gpa), n);
		src += n, d += n, len -= n;
		if (len && !src) {	/* wrapped past 4 GiB */
			*bad = src;
			return false;
		}
	}
	return true;
}
