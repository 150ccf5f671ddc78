/*
 * The read-only file archive linked into the kernel (mkarchive.py): a
 * header, a directory of fixed-size entries, then the files' bytes.
 *
 *   "PNAR" u32 count, then count x { char name[24]; u32 offset; u32 size; }
 */
#ifndef PENUMBRA_ARCHIVE_H
#define PENUMBRA_ARCHIVE_H

#include <stdint.h>

#define ARCHIVE_NAME_MAX	24

struct archive_file {
	const char *name;
	const uint8_t *data;
	uint32_t size;
};

void archive_init(void);
const struct archive_file *archive_find(const char *name);
const struct archive_file *archive_get(unsigned index);

#endif
