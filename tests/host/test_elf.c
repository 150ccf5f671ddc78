/*
 * elf_check(), fed images assembled here byte by byte. The images are laid
 * out with the C library's <elf.h> rather than elf.c's own structures, so
 * a misreading of the ELF format in elf.c cannot hide behind a matching
 * misreading in the test. Every image handed to elf_check() sits in a heap
 * block of exactly its size: a read one byte past the end is an ASan report.
 */
#include <elf.h>
#include <stdlib.h>

#include "check.h"
#include "hypervisor/elf.h"
#include "umbra/abi.h"
#include "umbra/elfnote.h"

#define MEM		MiB(16)
#define IMG_MAX		4096
#define TEXT_PADDR	0x100000u
#define TEXT_SIZE	0x100u
#define DATA_PADDR	0x101000u
#define DATA_FILESZ	0x40u
#define DATA_MEMSZ	0x2000u
#define ENTRY		(TEXT_PADDR + 0x10)

/* Program header indices in the standard image. */
enum { PH_NOTE, PH_TEXT, PH_DATA, PH_COUNT };

struct image {
	u8 b[IMG_MAX] __attribute__((aligned(8)));
	u32 size;
	unsigned nph;		/* program headers filled so far */
};

static Elf32_Ehdr *ehdr(struct image *im)
{
	return (Elf32_Ehdr *)im->b;
}

static Elf32_Phdr *phdr(struct image *im, unsigned i)
{
	return (Elf32_Phdr *)(im->b + ehdr(im)->e_phoff) + i;
}

/* An ELF header followed by room for nph program headers; data comes after. */
static void image_start(struct image *im, u32 entry, unsigned nph)
{
	Elf32_Ehdr *h = ehdr(im);

	memset(im, 0, sizeof(*im));
	memcpy(h->e_ident, ELFMAG, SELFMAG);
	h->e_ident[EI_CLASS] = ELFCLASS32;
	h->e_ident[EI_DATA] = ELFDATA2LSB;
	h->e_ident[EI_VERSION] = EV_CURRENT;
	h->e_type = ET_EXEC;
	h->e_machine = EM_386;
	h->e_version = EV_CURRENT;
	h->e_entry = entry;
	h->e_phoff = sizeof(Elf32_Ehdr);
	h->e_ehsize = sizeof(Elf32_Ehdr);
	h->e_phentsize = sizeof(Elf32_Phdr);
	h->e_phnum = nph;
	im->size = sizeof(Elf32_Ehdr) + nph * sizeof(Elf32_Phdr);
}

/* Append a segment's file bytes (a recognisable pattern) and its header. */
static u32 add_segment(struct image *im, u32 type, u32 paddr, const void *data,
		       u32 filesz, u32 memsz)
{
	Elf32_Phdr *p = phdr(im, im->nph++);
	u32 off = ALIGN_UP(im->size, 4);

	for (u32 i = 0; i < filesz; i++)
		im->b[off + i] = data ? ((const u8 *)data)[i] : (u8)(paddr + i * 7);
	*p = (Elf32_Phdr){ .p_type = type, .p_offset = off, .p_vaddr = paddr,
			   .p_paddr = paddr, .p_filesz = filesz, .p_memsz = memsz,
			   .p_flags = PF_R, .p_align = 4 };
	im->size = off + filesz;
	return off;
}

static void fill_note(struct umbra_note *n, u32 abi, u32 paging)
{
	*n = (struct umbra_note){ .namesz = sizeof(UMBRA_NOTE_NAME),
				  .descsz = sizeof(struct umbra_note_desc),
				  .type = UMBRA_NOTE_GUEST, .name = UMBRA_NOTE_NAME,
				  .desc = { abi, paging } };
}

/* Where the standard image keeps its note, so cases can spoil it. */
static struct umbra_note *note_of(struct image *im)
{
	return (struct umbra_note *)(im->b + phdr(im, PH_NOTE)->p_offset);
}

/* The standard good guest: a note, 256 bytes of text, data with bss. */
static void good_image(struct image *im, u32 abi, u32 paging)
{
	struct umbra_note n;

	fill_note(&n, abi, paging);
	image_start(im, ENTRY, PH_COUNT);
	add_segment(im, PT_NOTE, 0, &n, sizeof(n), 0);
	add_segment(im, PT_LOAD, TEXT_PADDR, NULL, TEXT_SIZE, TEXT_SIZE);
	add_segment(im, PT_LOAD, DATA_PADDR, NULL, DATA_FILESZ, DATA_MEMSZ);
}

/* elf_check() on a heap copy of exactly `size` bytes, why likewise sized. */
static bool run(const u8 *img, u32 size, u32 mem, u32 paging, struct elf_guest *g,
		char *why, size_t whylen)
{
	u8 *copy = malloc(size ? size : 1);
	char *w = malloc(whylen ? whylen : 1);
	bool ok;

	memcpy(copy, img, size);
	memset(w, 0, whylen ? whylen : 1);
	ok = elf_check(copy, size, mem, paging, g, w, whylen);
	if (whylen)
		memcpy(why, w, whylen);
	free(copy);
	free(w);
	return ok;
}

static void test_good(void)
{
	struct image im;
	struct elf_guest g;
	char why[160] = "";
	bool ok;

	good_image(&im, UMBRA_ABI_VERSION, UMBRA_PAGING_2LEVEL);
	ok = run(im.b, im.size, MEM, UMBRA_PAGING_2LEVEL, &g, why, sizeof(why));
	check_done(ok, "good 2-level image accepted", why);
	CHECK_EQ(g.entry, ENTRY, "good image: entry point");
	CHECK_EQ(g.nr_load, 2, "good image: two loadable segments (the note is not one)");
	CHECK(g.load[0].offset == phdr(&im, PH_TEXT)->p_offset && g.load[0].filesz == TEXT_SIZE &&
	      g.load[0].memsz == TEXT_SIZE && g.load[0].paddr == TEXT_PADDR,
	      "good image: text segment copied out");
	CHECK(g.load[1].offset == phdr(&im, PH_DATA)->p_offset && g.load[1].filesz == DATA_FILESZ &&
	      g.load[1].memsz == DATA_MEMSZ && g.load[1].paddr == DATA_PADDR,
	      "good image: data segment with bss copied out");

	good_image(&im, UMBRA_ABI_VERSION, UMBRA_PAGING_PAE);
	ok = run(im.b, im.size, MEM, UMBRA_PAGING_PAE, &g, why, sizeof(why));
	check_done(ok, "good PAE image accepted by a PAE hypervisor", why);
}

/* Edge placements that are still legal. */
static void test_good_edges(void)
{
	struct image im;
	struct elf_guest g;
	char why[160] = "";
	struct { u32 namesz, descsz, type; char name[4]; u8 id[20]; } build_id = {
		4, 20, NT_GNU_BUILD_ID, "GNU", { 1, 2, 3 } };
	struct { u8 bytes[sizeof(build_id) + sizeof(struct umbra_note)]; } notes;
	struct umbra_note n;
	bool ok;

	good_image(&im, UMBRA_ABI_VERSION, UMBRA_PAGING_2LEVEL);
	phdr(&im, PH_TEXT)->p_paddr = GUEST_LOAD_MIN;
	ehdr(&im)->e_entry = GUEST_LOAD_MIN;
	phdr(&im, PH_DATA)->p_paddr = MEM - DATA_MEMSZ;
	ok = run(im.b, im.size, MEM, UMBRA_PAGING_2LEVEL, &g, why, sizeof(why));
	check_done(ok, "segments at 0x2000 and ending at the top of memory accepted", why);

	good_image(&im, UMBRA_ABI_VERSION, UMBRA_PAGING_2LEVEL);
	ehdr(&im)->e_entry = DATA_PADDR + DATA_MEMSZ - 1;
	ok = run(im.b, im.size, MEM, UMBRA_PAGING_2LEVEL, &g, why, sizeof(why));
	check_done(ok, "entry on the last byte of a segment accepted", why);

	/* The umbra note need not be the first note of its segment. */
	fill_note(&n, UMBRA_ABI_VERSION, UMBRA_PAGING_2LEVEL);
	memcpy(notes.bytes, &build_id, sizeof(build_id));
	memcpy(notes.bytes + sizeof(build_id), &n, sizeof(n));
	image_start(&im, ENTRY, 2);
	add_segment(&im, PT_NOTE, 0, &notes, sizeof(notes), 0);
	add_segment(&im, PT_LOAD, TEXT_PADDR, NULL, TEXT_SIZE, TEXT_SIZE);
	ok = run(im.b, im.size, MEM, UMBRA_PAGING_2LEVEL, &g, why, sizeof(why));
	check_done(ok, "umbra note after a GNU build-id note found", why);

	image_start(&im, ENTRY, 1 + ELF_MAX_LOAD);
	add_segment(&im, PT_NOTE, 0, &n, sizeof(n), 0);
	for (unsigned i = 0; i < ELF_MAX_LOAD; i++)
		add_segment(&im, PT_LOAD, TEXT_PADDR + i * PAGE_SIZE, NULL, 16, 0x100);
	ok = run(im.b, im.size, MEM, UMBRA_PAGING_2LEVEL, &g, why, sizeof(why));
	check_done(ok && g.nr_load == ELF_MAX_LOAD,
		   check_fmt("%u loadable segments (the most) accepted", ELF_MAX_LOAD), why);
}

/* Each bad case spoils the standard image in one way. */
static void bad_text(struct image *im)
{
	static const char text[] = "This is a README, not a guest kernel.\n";

	memset(im->b, 0, sizeof(im->b));
	memcpy(im->b, text, sizeof(text) - 1);
	im->size = sizeof(text) - 1;
}
static void bad_empty(struct image *im) { im->size = 0; }
static void bad_magic_only(struct image *im) { im->size = 3; }
static void bad_truncated(struct image *im) { im->size = 40; }
static void bad_class64(struct image *im) { ehdr(im)->e_ident[EI_CLASS] = ELFCLASS64; }
static void bad_big_endian(struct image *im) { ehdr(im)->e_ident[EI_DATA] = ELFDATA2MSB; }
static void bad_dyn(struct image *im) { ehdr(im)->e_type = ET_DYN; }
static void bad_machine(struct image *im) { ehdr(im)->e_machine = EM_X86_64; }
static void bad_phoff_end(struct image *im) { ehdr(im)->e_phoff = im->size; }
static void bad_phoff_wrap(struct image *im) { ehdr(im)->e_phoff = 0xffffffe0; }
static void bad_phnum_zero(struct image *im) { ehdr(im)->e_phnum = 0; }
static void bad_phnum_huge(struct image *im) { ehdr(im)->e_phnum = 0xffff; }
static void bad_phentsize(struct image *im) { ehdr(im)->e_phentsize = 40; }
static void bad_seg_past_end(struct image *im) { phdr(im, PH_TEXT)->p_offset = im->size - 0x10; }
static void bad_seg_wrap(struct image *im) { phdr(im, PH_TEXT)->p_offset = 0xffffff80; }
static void bad_filesz(struct image *im) { phdr(im, PH_DATA)->p_memsz = DATA_FILESZ / 2; }
static void bad_low(struct image *im) { phdr(im, PH_TEXT)->p_paddr = 0x1000; }
static void bad_zero_page(struct image *im) { phdr(im, PH_TEXT)->p_paddr = 0; }
static void bad_high(struct image *im) { phdr(im, PH_DATA)->p_paddr = MEM - 0x1000; }
static void bad_memsz(struct image *im) { phdr(im, PH_DATA)->p_memsz = MEM + PAGE_SIZE; }
static void bad_wrap(struct image *im)
{
	/* paddr + memsz = 0x1_0000_1000, which is 0x1000 in 32 bits. */
	phdr(im, PH_DATA)->p_paddr = 0xfffff000;
}
static void bad_no_note(struct image *im) { phdr(im, PH_NOTE)->p_type = PT_NULL; }
static void bad_note_outside(struct image *im) { phdr(im, PH_NOTE)->p_offset = im->size + 64; }
static void bad_note_name(struct image *im) { note_of(im)->name[0] = 'U'; }
static void bad_note_type(struct image *im) { note_of(im)->type = 2; }
static void bad_note_short_desc(struct image *im) { note_of(im)->descsz = 4; }
static void bad_abi(struct image *im) { note_of(im)->desc.abi_version = UMBRA_ABI_VERSION + 1; }
static void bad_pae_note(struct image *im) { note_of(im)->desc.paging = UMBRA_PAGING_PAE; }
static void bad_paging_junk(struct image *im) { note_of(im)->desc.paging = 7; }
static void bad_entry(struct image *im) { ehdr(im)->e_entry = 0x200000; }
static void bad_entry_end(struct image *im) { ehdr(im)->e_entry = TEXT_PADDR + TEXT_SIZE; }
static void bad_no_load(struct image *im)
{
	phdr(im, PH_TEXT)->p_type = PT_NULL;
	phdr(im, PH_DATA)->p_type = PT_NULL;
}
static void bad_namesz_huge(struct image *im) { note_of(im)->namesz = 0xffffffff; }
static void bad_namesz_wrap(struct image *im) { note_of(im)->namesz = 0xfffffffd; }
static void bad_descsz_huge(struct image *im) { note_of(im)->descsz = 0xfffffff0; }
static void bad_descsz_past(struct image *im) { note_of(im)->descsz = 0x1000; }
static void bad_too_many(struct image *im)
{
	struct umbra_note n;

	fill_note(&n, UMBRA_ABI_VERSION, UMBRA_PAGING_2LEVEL);
	image_start(im, ENTRY, 2 + ELF_MAX_LOAD);
	add_segment(im, PT_NOTE, 0, &n, sizeof(n), 0);
	for (unsigned i = 0; i <= ELF_MAX_LOAD; i++)
		add_segment(im, PT_LOAD, TEXT_PADDR + i * PAGE_SIZE, NULL, 16, 0x100);
}

struct bad_case {
	const char *name;
	void (*spoil)(struct image *im);
	const char *word;	/* the message must mention it */
	u32 mem;		/* guest memory size to check against */
};

static const struct bad_case bad_cases[] = {
	{ "text file", bad_text, "not an ELF", MEM },
	{ "empty file", bad_empty, "not an ELF", MEM },
	{ "3-byte file", bad_magic_only, "not an ELF", MEM },
	{ "header truncated to 40 bytes", bad_truncated, "truncated", MEM },
	{ "64-bit class", bad_class64, "32-bit", MEM },
	{ "big-endian", bad_big_endian, "little-endian", MEM },
	{ "ET_DYN", bad_dyn, "executable", MEM },
	{ "x86-64 machine", bad_machine, "i386", MEM },
	{ "program headers at end of file", bad_phoff_end, "program headers", MEM },
	{ "program header offset wraps", bad_phoff_wrap, "program headers", MEM },
	{ "no program headers", bad_phnum_zero, "program headers", MEM },
	{ "65535 program headers", bad_phnum_huge, "program headers", MEM },
	{ "wrong program header size", bad_phentsize, "program headers", MEM },
	{ "segment data past end of file", bad_seg_past_end, "outside the file", MEM },
	{ "segment offset wraps", bad_seg_wrap, "outside the file", MEM },
	{ "file size above memory size", bad_filesz, "exceeds", MEM },
	{ "segment below 0x2000", bad_low, "outside guest memory", MEM },
	{ "segment at 0", bad_zero_page, "outside guest memory", MEM },
	{ "segment past end of memory", bad_high, "outside guest memory", MEM },
	{ "segment larger than memory", bad_memsz, "outside guest memory", MEM },
	{ "segment end wraps past 4 GiB", bad_wrap, "outside guest memory", 0xffffffff },
	{ "no PT_NOTE", bad_no_note, "note", MEM },
	{ "PT_NOTE outside the file", bad_note_outside, "note", MEM },
	{ "note named Umbra", bad_note_name, "note", MEM },
	{ "note of another type", bad_note_type, "note", MEM },
	{ "note descriptor too short", bad_note_short_desc, "note", MEM },
	{ "wrong ABI version", bad_abi, "ABI version", MEM },
	{ "PAE guest on 2-level hypervisor", bad_pae_note, "PAE", MEM },
	{ "PAE guest on 2-level hypervisor (names ours)", bad_pae_note, "2-level", MEM },
	{ "unknown paging format", bad_paging_junk, "paging", MEM },
	{ "entry outside every segment", bad_entry, "entry point", MEM },
	{ "entry just past a segment", bad_entry_end, "entry point", MEM },
	{ "no PT_LOAD", bad_no_load, "no loadable segment", MEM },
	{ "note namesz 0xffffffff", bad_namesz_huge, "note", MEM },
	{ "note namesz that wraps when aligned", bad_namesz_wrap, "note", MEM },
	{ "note descsz 0xfffffff0", bad_descsz_huge, "note", MEM },
	{ "note descsz past the segment", bad_descsz_past, "note", MEM },
	{ "17 loadable segments", bad_too_many, "more than", MEM },
};

static void test_bad(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct image im;
		struct elf_guest g;
		char why[160] = "";
		bool ok;

		good_image(&im, UMBRA_ABI_VERSION, UMBRA_PAGING_2LEVEL);
		c->spoil(&im);
		ok = run(im.b, im.size, c->mem, UMBRA_PAGING_2LEVEL, &g, why, sizeof(why));
		check_done(!ok && why[0] && strstr(why, c->word),
			   check_fmt("rejects %s, saying \"%s\"", c->name, c->word),
			   ok ? "accepted" : check_fmt("said \"%s\"", why));
	}
}

/* A 2-level guest on a PAE hypervisor: both formats named, the other way round. */
static void test_paging_message(void)
{
	struct image im;
	struct elf_guest g;
	char why[160] = "";

	good_image(&im, UMBRA_ABI_VERSION, UMBRA_PAGING_2LEVEL);
	CHECK(!run(im.b, im.size, MEM, UMBRA_PAGING_PAE, &g, why, sizeof(why)),
	      "rejects a 2-level guest on a PAE hypervisor");
	CHECK_HAS(why, "2-level", "paging message names the guest's format");
	CHECK_HAS(why, "PAE", "paging message names the hypervisor's format");
	CHECK(strstr(why, "2-level") < strstr(why, "PAE"),
	      "paging message names the guest's format first");
}

/* A short why buffer still ends in NUL; a zero-length one is not written. */
static void test_short_why(void)
{
	struct image im;
	struct elf_guest g;
	char why[8];

	good_image(&im, UMBRA_ABI_VERSION, UMBRA_PAGING_2LEVEL);
	bad_machine(&im);
	run(im.b, im.size, MEM, UMBRA_PAGING_2LEVEL, &g, why, sizeof(why));
	CHECK(strnlen(why, sizeof(why)) == sizeof(why) - 1, "message truncated to the why buffer");
	CHECK(!elf_check(im.b, im.size, MEM, UMBRA_PAGING_2LEVEL, &g, NULL, 0),
	      "rejection with no why buffer at all");
}

static u32 rng_state;

static u32 rng(void)
{
	u32 x = rng_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return rng_state = x;
}

static u32 interesting(u32 size)
{
	static const u32 v[] = { 0, 1, 2, 3, 4, 12, 0x7f, 0x80, 0xff, 0x1000, 0x2000,
				 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffff000,
				 0xfffffffc, 0xfffffffe, 0xffffffff, MEM, MEM - 1 };
	u32 r = rng() % (ARRAY_SIZE(v) + 4);

	if (r < ARRAY_SIZE(v))
		return v[r];
	if (r == ARRAY_SIZE(v))
		return size;
	if (r == ARRAY_SIZE(v) + 1)
		return size - rng() % 64;
	return rng();
}

/*
 * One random mutation, mostly aimed at the first `hot` bytes: the headers
 * and the note, where a change reaches the deeper checks.
 */
static void mutate(struct image *im, u32 hot)
{
	u32 off;

	switch (im->size ? rng() % 5 : 1) {
	case 0:
		for (u32 n = 1 + rng() % 4; n--;)
			im->b[rng() % im->size] = rng();
		break;
	case 1:
		off = (rng() % hot) & ~3u;
		*(u32 *)(im->b + off) = interesting(im->size);
		break;
	case 2:
		off = (rng() % hot) & ~1u;
		*(u16 *)(im->b + off) = interesting(im->size);
		break;
	case 3:
		im->size = rng() % (im->size + 1);
		break;
	default:
		off = (rng() % hot) & ~3u;
		*(u32 *)(im->b + off) = interesting(im->size);
		im->b[rng() % hot] ^= 1u << (rng() % 8);
		break;
	}
}

/* What an accepted image promises the loader. */
static bool sane(const struct elf_guest *g, u32 size, u32 mem, char *why, size_t len)
{
	bool entry = false;

	if (!g->nr_load || g->nr_load > ELF_MAX_LOAD)
		return snprintf(why, len, "%u loadable segments", g->nr_load), false;
	for (unsigned i = 0; i < g->nr_load; i++) {
		const struct elf_segment *s = &g->load[i];

		if ((u64)s->offset + s->filesz > size || s->filesz > s->memsz ||
		    s->paddr < GUEST_LOAD_MIN || (u64)s->paddr + s->memsz > mem)
			return snprintf(why, len, "segment %u: offset 0x%x filesz 0x%x memsz 0x%x paddr 0x%x",
					i, s->offset, s->filesz, s->memsz, s->paddr), false;
		entry |= g->entry >= s->paddr && (u64)g->entry < (u64)s->paddr + s->memsz;
	}
	if (!entry)
		return snprintf(why, len, "entry 0x%x outside the segments", g->entry), false;
	return true;
}

#define FUZZ_RUNS	5000

static void test_fuzz(void)
{
	static const u32 mems[] = { MEM, 0x3000, 0xffffffff, 0 };
	unsigned accepted = 0, silent = 0, insane = 0;
	char first_silent[200] = "", first_insane[300] = "";
	struct image im;
	u32 hot;

	good_image(&im, UMBRA_ABI_VERSION, UMBRA_PAGING_2LEVEL);
	hot = phdr(&im, PH_NOTE)->p_offset + sizeof(struct umbra_note);
	rng_state = 0xc0ffee;
	for (unsigned i = 0; i < FUZZ_RUNS; i++) {
		struct elf_guest g;
		u32 paging = rng() % 2 ? UMBRA_PAGING_2LEVEL : UMBRA_PAGING_PAE;
		u32 mem = mems[rng() % ARRAY_SIZE(mems)];
		size_t whylen = rng() % 4 ? 160 : rng() % 12;
		char why[160] = "", detail[200];

		good_image(&im, UMBRA_ABI_VERSION, rng() % 2 ? UMBRA_PAGING_2LEVEL : UMBRA_PAGING_PAE);
		for (u32 n = 1 + rng() % 3; n--;)
			mutate(&im, hot);
		if (run(im.b, im.size, mem, paging, &g, why, whylen)) {
			accepted++;
			if (!sane(&g, im.size, mem, detail, sizeof(detail)) && !insane++)
				snprintf(first_insane, sizeof(first_insane), "run %u: %s", i, detail);
		} else if (whylen > 1 && (!why[0] || strnlen(why, whylen) == whylen) && !silent++) {
			snprintf(first_silent, sizeof(first_silent), "run %u: why is \"%.*s\"",
				 i, (int)whylen, why);
		}
	}
	/* Reaching this line at all is the main result: no crash, no sanitizer report. */
	CHECK(true, "fuzz: %u mutated images checked without a crash", FUZZ_RUNS);
	check_done(!silent, "fuzz: every rejection says why, NUL-terminated", first_silent);
	check_done(!insane, "fuzz: every accepted image lies inside its file and memory",
		   first_insane);
	CHECK(accepted > 0 && accepted < FUZZ_RUNS, "fuzz: mutations reach both verdicts");
}

int main(void)
{
	test_good();
	test_good_edges();
	test_bad();
	test_paging_message();
	test_short_why();
	test_fuzz();
	return check_status();
}
