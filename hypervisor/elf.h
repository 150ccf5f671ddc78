/*
 * Checking a guest's ELF image before anything of it is loaded. Pure
 * functions over the image bytes, so host-side tests feed them anything.
 */
#ifndef UMBRA_HV_ELF_H
#define UMBRA_HV_ELF_H

#include "../lib/types.h"

#define ELF_MAX_LOAD	16

/* The first two pages of a guest are the hypervisor's: null page, boot info. */
#define GUEST_LOAD_MIN	0x2000u

struct elf_segment {
	u32 offset, filesz, memsz, paddr;
};

struct elf_guest {
	u32 entry;
	unsigned nr_load;
	struct elf_segment load[ELF_MAX_LOAD];
};

/*
 * Check img (size bytes) as a guest for a machine of mem_bytes with the
 * given paging format (UMBRA_PAGING_*). On success fills *out and returns
 * true; otherwise writes one line saying what is wrong into why.
 */
bool elf_check(const u8 *img, u32 size, u32 mem_bytes, u32 paging,
	       struct elf_guest *out, char *why, size_t whylen);

#endif
