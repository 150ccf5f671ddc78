#include "kernel.h"
#include "archive.h"

#define ARCHIVE_MAX	64

struct archive_entry {
	char name[ARCHIVE_NAME_MAX];
	uint32_t offset, size;
};

extern const uint8_t _binary_archive_bin_start[], _binary_archive_bin_end[];

static struct archive_file files[ARCHIVE_MAX];
static unsigned nfiles;

/* Entries that do not fit the blob are left out, with a word on the console. */
void archive_init(void)
{
	const uint8_t *blob = _binary_archive_bin_start;
	uint32_t size = (uint32_t)(_binary_archive_bin_end - blob), count;
	const struct archive_entry *e = (const void *)(blob + 8);

	if (size < 8 || memcmp(blob, "PNAR", 4))
		panic("archive: no archive linked in");
	memcpy(&count, blob + 4, 4);
	for (uint32_t i = 0; i < count && nfiles < ARCHIVE_MAX; i++, e++) {
		if ((const uint8_t *)(e + 1) > blob + size || e->offset > size ||
		    e->size > size - e->offset || strnlen(e->name, ARCHIVE_NAME_MAX) == ARCHIVE_NAME_MAX) {
			kprintf("penumbra: archive entry %u is malformed\n", i);
			continue;
		}
		files[nfiles++] = (struct archive_file){ e->name, blob + e->offset, e->size };
	}
}

const struct archive_file *archive_find(const char *name)
{
	for (unsigned i = 0; i < nfiles; i++)
		if (!strcmp(files[i].name, name))
			return &files[i];
	return NULL;
}

const struct archive_file *archive_get(unsigned index)
{
	return index < nfiles ? &files[index] : NULL;
}
