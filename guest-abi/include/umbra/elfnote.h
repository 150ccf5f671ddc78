/*
 * The ELF note that makes an ELF file an umbra guest.
 *
 * A PT_NOTE segment must hold a note with name "umbra", type
 * UMBRA_NOTE_GUEST and this descriptor. The loader refuses a module
 * without it, with another ABI version, or with a paging format other than
 * the hypervisor's. The guest runtime emits it; a guest built without the
 * runtime writes `UMBRA_GUEST_NOTE(UMBRA_PAGING_2LEVEL);` (or _PAE) at file
 * scope and makes its link script put .note.umbra in a PT_NOTE segment.
 */
#ifndef UMBRA_ELFNOTE_H
#define UMBRA_ELFNOTE_H

#include <stdint.h>

#define UMBRA_NOTE_NAME		"umbra"
#define UMBRA_NOTE_GUEST	1

struct umbra_note_desc {
	uint32_t abi_version;	/* UMBRA_ABI_VERSION */
	uint32_t paging;	/* UMBRA_PAGING_2LEVEL or UMBRA_PAGING_PAE */
};

struct umbra_note {
	uint32_t namesz;	/* sizeof(UMBRA_NOTE_NAME) = 6 */
	uint32_t descsz;	/* sizeof(struct umbra_note_desc) */
	uint32_t type;		/* UMBRA_NOTE_GUEST */
	char name[8];		/* "umbra", padded to 4 bytes */
	struct umbra_note_desc desc;
};

/* Place the note in a section the guest linker script puts in PT_NOTE. */
#define UMBRA_GUEST_NOTE(paging_format)					\
	__attribute__((section(".note.umbra"), aligned(4), used))	\
	static const struct umbra_note umbra_guest_note = {		\
		.namesz = sizeof(UMBRA_NOTE_NAME),			\
		.descsz = sizeof(struct umbra_note_desc),		\
		.type = UMBRA_NOTE_GUEST,				\
		.name = UMBRA_NOTE_NAME,				\
		.desc = { UMBRA_ABI_VERSION, (paging_format) },		\
	}

#endif
