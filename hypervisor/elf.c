/*
 * Checking a guest's ELF image before anything is loaded from it: header,
 * program headers, segments inside guest memory, and the umbra note
 * (ABI version and paging format).
 */
#include "elf.h"
#include "../guest-abi/include/umbra/abi.h"
#include "../guest-abi/include/umbra/elfnote.h"
#include "../lib/format.h"
#include "../lib/string.h"

/* ELF32 as far as a loader needs it (System V ABI, i386 supplement). */
#define EI_CLASS	4
#define EI_DATA		5
#define ELFCLASS32	1
#define ELFDATA2LSB	1
#define ET_EXEC		2
#define EM_386		3
#define PT_LOAD		1
#define PT_NOTE		4

struct elf32_ehdr {
	u8 ident[16];
	u16 type, machine;
	u32 version, entry, phoff, shoff, flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf32_phdr {
	u32 type, offset, vaddr, paddr, filesz, memsz, flags, align;
};

struct check {
	const u8 *img;
	u32 size;
	char *why;
	size_t whylen;
};

#define FAIL(c, ...) (snprintf((c)->why, (c)->whylen, __VA_ARGS__), false)

static const char *paging_name(u32 p)
{
	return p == UMBRA_PAGING_PAE ? "PAE" : p == UMBRA_PAGING_2LEVEL ? "2-level" : "unknown";
}

/* [off, off+len) lies inside the image, without overflow. */
static bool in_image(const struct check *c, u32 off, u32 len)
{
	return off <= c->size && len <= c->size - off;
}

static bool check_header(struct check *c, const struct elf32_ehdr *h)
{
	if (c->size < 4 || memcmp(h->ident, "\x7f" "ELF", 4))
		return FAIL(c, "not an ELF file");
	if (c->size < sizeof(*h))
		return FAIL(c, "ELF header truncated (%u bytes)", c->size);
	if (h->ident[EI_CLASS] != ELFCLASS32)
		return FAIL(c, "not a 32-bit ELF file (class %u)", h->ident[EI_CLASS]);
	if (h->ident[EI_DATA] != ELFDATA2LSB)
		return FAIL(c, "not a little-endian ELF file");
	if (h->type != ET_EXEC)
		return FAIL(c, "not an executable (ELF type %u)", h->type);
	if (h->machine != EM_386)
		return FAIL(c, "built for machine %u, not i386", h->machine);
	if (h->phentsize != sizeof(struct elf32_phdr) || !h->phnum ||
	    !in_image(c, h->phoff, (u32)h->phnum * sizeof(struct elf32_phdr)))
		return FAIL(c, "program headers missing or outside the file");
	return true;
}

/* Find the umbra note in one PT_NOTE segment; true if found. */
static bool find_note(const struct check *c, const struct elf32_phdr *p,
		      struct umbra_note_desc *desc)
{
	u32 off = p->offset, end = p->offset + p->filesz;

	while (off + 12 <= end) {
		u32 n[3], namesz, descsz, type, name_off, desc_off;

		memcpy(n, c->img + off, sizeof(n));
		namesz = n[0], descsz = n[1], type = n[2];
		name_off = off + 12;
		desc_off = name_off + ALIGN_UP(namesz, 4);

		if (namesz > 64 || descsz > 4096 || desc_off + descsz > end)
			return false;
		if (type == UMBRA_NOTE_GUEST && namesz == sizeof(UMBRA_NOTE_NAME) &&
		    !memcmp(c->img + name_off, UMBRA_NOTE_NAME, namesz) &&
		    descsz >= sizeof(*desc)) {
			memcpy(desc, c->img + desc_off, sizeof(*desc));
			return true;
		}
		off = desc_off + ALIGN_UP(descsz, 4);
	}
	return false;
}

static bool check_load(struct check *c, const struct elf32_phdr *p, unsigned i,
		       u32 mem_bytes, struct elf_guest *out)
{
	if (!in_image(c, p->offset, p->filesz))
		return FAIL(c, "segment %u: file data outside the file", i);
	if (p->filesz > p->memsz)
		return FAIL(c, "segment %u: file size 0x%x exceeds memory size 0x%x",
			    i, p->filesz, p->memsz);
	if (p->paddr < GUEST_LOAD_MIN || p->memsz > mem_bytes || p->paddr > mem_bytes - p->memsz)
		return FAIL(c, "segment %u at 0x%x-0x%llx lies outside guest memory 0x%x-0x%x",
			    i, p->paddr, (u64)p->paddr + p->memsz, GUEST_LOAD_MIN, mem_bytes);
	if (out->nr_load == ELF_MAX_LOAD)
		return FAIL(c, "more than %u loadable segments", ELF_MAX_LOAD);
	out->load[out->nr_load++] = (struct elf_segment){ p->offset, p->filesz, p->memsz, p->paddr };
	return true;
}

static bool check_note(struct check *c, bool found, const struct umbra_note_desc *d, u32 paging)
{
	if (!found)
		return FAIL(c, "no umbra guest note (is it linked with the umbra guest runtime?)");
	if (d->abi_version != UMBRA_ABI_VERSION)
		return FAIL(c, "guest ABI version %u; this hypervisor speaks version %u",
			    d->abi_version, UMBRA_ABI_VERSION);
	if (d->paging != paging)
		return FAIL(c, "built for %s paging; this hypervisor uses %s paging",
			    paging_name(d->paging), paging_name(paging));
	return true;
}

static bool entry_loaded(const struct elf_guest *g)
{
	for (unsigned i = 0; i < g->nr_load; i++)
		if (g->entry >= g->load[i].paddr && g->entry - g->load[i].paddr < g->load[i].memsz)
			return true;
	return false;
}

bool elf_check(const u8 *img, u32 size, u32 mem_bytes, u32 paging,
	       struct elf_guest *out, char *why, size_t whylen)
{
	struct check c = { img, size, why, whylen };
	struct elf32_ehdr h = { 0 };
	struct umbra_note_desc desc;
	bool note = false;

	memset(out, 0, sizeof(*out));
	memcpy(&h, img, MIN(size, sizeof(h)));
	if (!check_header(&c, &h))
		return false;
	for (unsigned i = 0; i < h.phnum; i++) {
		struct elf32_phdr p;

		memcpy(&p, img + h.phoff + i * sizeof(p), sizeof(p));
		if (p.type == PT_LOAD && (p.memsz || p.filesz) && !check_load(&c, &p, i, mem_bytes, out))
			return false;
		if (p.type == PT_NOTE && !note && in_image(&c, p.offset, p.filesz))
			note = find_note(&c, &p, &desc);
	}
	if (!check_note(&c, note, &desc, paging))
		return false;
	if (!out->nr_load)
		return FAIL(&c, "no loadable segment");
	out->entry = h.entry;
	if (!entry_loaded(out))
		return FAIL(&c, "entry point 0x%x is not inside a loaded segment", out->entry);
	return true;
}
