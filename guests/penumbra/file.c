#include "kernel.h"
#include "archive.h"
#include "file.h"
#include "machine.h"

#define NFILE	256

static struct file files[NFILE];

struct file *file_new(enum file_kind kind)
{
	for (unsigned i = 0; i < NFILE; i++)
		if (files[i].kind == F_FREE) {
			files[i] = (struct file){ .kind = kind, .refs = 1 };
			return &files[i];
		}
	return NULL;
}

struct file *file_dup(struct file *f)
{
	f->refs++;
	return f;
}

void file_close(struct file *f)
{
	if (--f->refs > 0)
		return;
	if (f->kind == F_PIPE_READ || f->kind == F_PIPE_WRITE)
		pipe_close(f->pipe, f->kind == F_PIPE_WRITE);
	f->kind = F_FREE;
}

int file_read(struct file *f, char *buf, uint32_t n)
{
	uint32_t left;

	switch (f->kind) {
	case F_CONSOLE:
		return console_read(buf, n);
	case F_PIPE_READ:
		return pipe_read(f->pipe, buf, n);
	case F_ARCHIVE:
		left = f->af->size - f->offset;
		n = n < left ? n : left;
		memcpy(buf, f->af->data + f->offset, n);
		f->offset += n;
		return (int)n;
	default:
		return -PN_EBADF;
	}
}

int file_write(struct file *f, const char *buf, uint32_t n)
{
	switch (f->kind) {
	case F_CONSOLE:
		mach_console_write(buf, n);
		return (int)n;
	case F_PIPE_WRITE:
		return pipe_write(f->pipe, buf, n);
	default:
		return -PN_EBADF;
	}
}
