/* penumbra's user library: system calls, stdio-like output, malloc, strings. */
#ifndef PENUMBRA_ULIB_H
#define PENUMBRA_ULIB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <penumbra/abi.h>
#include "../../../lib/format.h"
#include "../../../lib/string.h"

long syscall4(uint32_t nr, uint32_t a, uint32_t b, uint32_t c, uint32_t d);

void exit(int status) __attribute__((noreturn));
int wait(int *status);
int fork(void);
int exec(const char *path, char *const argv[]);
int getpid(void);
void *sbrk(intptr_t incr);	/* (void *)-1 on failure */
long sbrk_raw(intptr_t incr);	/* the kernel's answer */
int write(int fd, const void *buf, uint32_t n);
int read(int fd, void *buf, uint32_t n);
int sleep_ms(uint32_t ms);
uint32_t uptime_ms(void);
int kill(int pid);
long mmap_raw(uint32_t len);	/* an address, or -PN_E* */
int munmap(void *addr, uint32_t len);
int pipe(int fds[2]);
int dup(int fd);
int close(int fd);
int open(const char *path);
long readdir(unsigned index, char name[24]);
int procinfo(unsigned slot, struct pn_procinfo *info);
int counters(struct pn_counters *c);
int meminfo(struct pn_meminfo *m);
void poweroff(int status) __attribute__((noreturn));
int setfg(int pid);

static inline uint64_t rdtsc(void)
{
	uint64_t v;

	__asm__ volatile("rdtsc" : "=A"(v));
	return v;
}

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int dprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void flush(void);

void *malloc(size_t n);
void free(void *p);

int atoi(const char *s);
const char *strerror(int err);

int main(int argc, char **argv);

#endif
