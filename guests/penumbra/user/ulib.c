#include "ulib.h"

/* The entry point: exec leaves argc and argv above a zero return address. */
__attribute__((section(".text.start"), used)) void _start(int argc, char **argv)
{
	exit(main(argc, argv));
}

long syscall4(uint32_t nr, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
	return r;
}

#define SC(name, ...) syscall4(PN_SYS_##name, ##__VA_ARGS__)
#define U(x) ((uint32_t)(uintptr_t)(x))

void exit(int status)
{
	flush();
	for (;;)
		syscall4(PN_SYS_exit, (uint32_t)status, 0, 0, 0);
}

int wait(int *status) { return (int)syscall4(PN_SYS_wait, U(status), 0, 0, 0); }
int fork(void) { flush(); return (int)syscall4(PN_SYS_fork, 0, 0, 0, 0); }
int exec(const char *path, char *const argv[]) { return (int)syscall4(PN_SYS_exec, U(path), U(argv), 0, 0); }
int getpid(void) { return (int)syscall4(PN_SYS_getpid, 0, 0, 0, 0); }
long sbrk_raw(intptr_t incr) { return syscall4(PN_SYS_sbrk, (uint32_t)incr, 0, 0, 0); }
int write(int fd, const void *buf, uint32_t n) { return (int)syscall4(PN_SYS_write, (uint32_t)fd, U(buf), n, 0); }
int read(int fd, void *buf, uint32_t n) { return (int)syscall4(PN_SYS_read, (uint32_t)fd, U(buf), n, 0); }
int sleep_ms(uint32_t ms) { return (int)syscall4(PN_SYS_sleep, ms, 0, 0, 0); }
uint32_t uptime_ms(void) { return (uint32_t)syscall4(PN_SYS_uptime, 0, 0, 0, 0); }
int kill(int pid) { return (int)syscall4(PN_SYS_kill, (uint32_t)pid, 0, 0, 0); }
long mmap_raw(uint32_t len) { return syscall4(PN_SYS_mmap, len, 0, 0, 0); }
int munmap(void *addr, uint32_t len) { return (int)syscall4(PN_SYS_munmap, U(addr), len, 0, 0); }
int pipe(int fds[2]) { return (int)syscall4(PN_SYS_pipe, U(fds), 0, 0, 0); }
int dup(int fd) { return (int)syscall4(PN_SYS_dup, (uint32_t)fd, 0, 0, 0); }
int close(int fd) { return (int)syscall4(PN_SYS_close, (uint32_t)fd, 0, 0, 0); }
int open(const char *path) { return (int)syscall4(PN_SYS_open, U(path), 0, 0, 0); }
long readdir(unsigned index, char name[24]) { return syscall4(PN_SYS_readdir, index, U(name), 0, 0); }
int procinfo(unsigned slot, struct pn_procinfo *info) { return (int)syscall4(PN_SYS_procinfo, slot, U(info), 0, 0); }
int counters(struct pn_counters *c) { return (int)syscall4(PN_SYS_counters, U(c), 0, 0, 0); }
int meminfo(struct pn_meminfo *m) { return (int)syscall4(PN_SYS_meminfo, U(m), 0, 0, 0); }
int setfg(int pid) { return (int)syscall4(PN_SYS_setfg, (uint32_t)pid, 0, 0, 0); }

void poweroff(int status)
{
	flush();
	for (;;)
		syscall4(PN_SYS_poweroff, (uint32_t)status, 0, 0, 0);
}

void *sbrk(intptr_t incr)
{
	long r = sbrk_raw(incr);

	return r < 0 && r > -4096 ? (void *)-1 : (void *)r;
}

/* Output to fd 1 is gathered into lines, so that a line is one write. */
static char out[512];
static uint32_t out_len;

void flush(void)
{
	if (out_len)
		write(1, out, out_len);
	out_len = 0;
}

static int vdprintf(int fd, const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	uint32_t len = (uint32_t)strnlen(buf, sizeof(buf));

	if (fd != 1) {
		write(fd, buf, len);
		return n;
	}
	for (uint32_t i = 0; i < len; i++) {
		out[out_len++] = buf[i];
		if (buf[i] == '\n' || out_len == sizeof(out))
			flush();
	}
	return n;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vdprintf(1, fmt, ap);
	va_end(ap);
	return n;
}

int dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vdprintf(fd, fmt, ap);
	va_end(ap);
	return n;
}

/*
 * malloc: first fit over a list of blocks carved from sbrk; each block has
 * a header with its size and whether it is free. Enough for small tools.
 */
struct block {
	size_t size;		/* bytes after the header */
	int free;
	struct block *next;
};

static struct block *blocks;

void *malloc(size_t n)
{
	struct block *b, *last = NULL;

	n = (n + 15) & ~(size_t)15;
	for (b = blocks; b; last = b, b = b->next)
		if (b->free && b->size >= n) {
			b->free = 0;
			return b + 1;
		}
	b = sbrk((intptr_t)(sizeof(*b) + n));
	if (b == (void *)-1)
		return NULL;
	*b = (struct block){ n, 0, NULL };
	if (last)
		last->next = b;
	else
		blocks = b;
	return b + 1;
}

void free(void *p)
{
	if (p)
		((struct block *)p - 1)->free = 1;
}

int atoi(const char *s)
{
	int v = 0, neg = *s == '-';

	s += neg;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return neg ? -v : v;
}

const char *strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case PN_EPERM: return "not permitted";
	case PN_ENOENT: return "no such file";
	case PN_ESRCH: return "no such process";
	case PN_EINTR: return "interrupted";
	case PN_ENOEXEC: return "not an executable";
	case PN_EBADF: return "bad file descriptor";
	case PN_ECHILD: return "no children";
	case PN_EAGAIN: return "process limit reached";
	case PN_ENOMEM: return "out of memory";
	case PN_EFAULT: return "bad address";
	case PN_EINVAL: return "invalid argument";
	case PN_EMFILE: return "too many open files";
	case PN_EPIPE: return "broken pipe";
	case PN_ENOSYS: return "no such system call";
	default: return "error";
	}
}
