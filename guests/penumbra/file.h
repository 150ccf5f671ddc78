/*
 * Open files, shared by the descriptors that name them (dup, fork): the
 * console, one end of a pipe, or a file of the archive, read-only.
 */
#ifndef PENUMBRA_FILE_H
#define PENUMBRA_FILE_H

#include <stdbool.h>
#include <stdint.h>

enum file_kind { F_FREE, F_CONSOLE, F_PIPE_READ, F_PIPE_WRITE, F_ARCHIVE };

struct pipe;
struct archive_file;

struct file {
	enum file_kind kind;
	int refs;
	struct pipe *pipe;
	const struct archive_file *af;
	uint32_t offset;
};

struct file *file_new(enum file_kind kind);
struct file *file_dup(struct file *f);
void file_close(struct file *f);
/* Kernel buffers; a read may sleep. The result is a count or -PN_E*. */
int file_read(struct file *f, char *buf, uint32_t n);
int file_write(struct file *f, const char *buf, uint32_t n);

/* pipe.c */
int pipe_new(struct file **rd, struct file **wr);
int pipe_read(struct pipe *p, char *buf, uint32_t n);
int pipe_write(struct pipe *p, const char *buf, uint32_t n);
void pipe_close(struct pipe *p, bool writer);

/* console.c */
int console_read(char *buf, uint32_t n);
void console_set_foreground(int pid);

#endif
