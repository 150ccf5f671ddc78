/*
 * Pipes: a ring buffer between readers and writers. A reader sleeps while
 * the buffer is empty and a writer remains; then it reads end of file. A
 * writer sleeps while it is full and a reader remains; with no reader left
 * the write fails with PN_EPIPE.
 */
#include "kernel.h"
#include "file.h"
#include "proc.h"

#define PIPE_SIZE	512
#define NPIPE		64

struct pipe {
	bool used;
	char buf[PIPE_SIZE];
	uint32_t head, tail;		/* read at head, write at tail; both count up */
	int readers, writers;
};

static struct pipe pipes[NPIPE];

int pipe_new(struct file **rd, struct file **wr)
{
	struct pipe *p = NULL;

	for (unsigned i = 0; i < NPIPE && !p; i++)
		if (!pipes[i].used)
			p = &pipes[i];
	if (!p)
		return -PN_EMFILE;
	*rd = file_new(F_PIPE_READ);
	*wr = *rd ? file_new(F_PIPE_WRITE) : NULL;
	if (!*wr) {
		if (*rd)
			(*rd)->kind = F_FREE;
		return -PN_EMFILE;
	}
	*p = (struct pipe){ .used = true, .readers = 1, .writers = 1 };
	(*rd)->pipe = (*wr)->pipe = p;
	return 0;
}

int pipe_read(struct pipe *p, char *buf, uint32_t n)
{
	uint32_t got = 0;

	while (p->head == p->tail && p->writers) {
		if (curproc->killed)
			return -PN_EINTR;
		sleep_on(&p->head);
	}
	while (got < n && p->head != p->tail)
		buf[got++] = p->buf[p->head++ % PIPE_SIZE];
	if (got)
		wakeup(&p->tail);
	return (int)got;
}

int pipe_write(struct pipe *p, const char *buf, uint32_t n)
{
	uint32_t put = 0;

	while (put < n) {
		if (!p->readers)
			return put ? (int)put : -PN_EPIPE;
		if (curproc->killed)
			return -PN_EINTR;
		if (p->tail - p->head == PIPE_SIZE) {
			wakeup(&p->head);
			sleep_on(&p->tail);
			continue;
		}
		while (put < n && p->tail - p->head < PIPE_SIZE)
			p->buf[p->tail++ % PIPE_SIZE] = buf[put++];
	}
	wakeup(&p->head);
	return (int)put;
}

void pipe_close(struct pipe *p, bool writer)
{
	if (writer)
		p->writers--;
	else
		p->readers--;
	wakeup(&p->head);
	wakeup(&p->tail);
	if (!p->readers && !p->writers)
		p->used = false;
}
