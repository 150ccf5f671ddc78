/*
 * What the portable hypervisor code expects from the hypervisor, supplied
 * for a host process instead. The C library covers the rest of lib/:
 * lib/string.c is i386 assembly and stays out of the host build, and
 * libc's snprintf stands in for lib/format.c (test_format.c tests that).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/panic.h"
#include "lib/types.h"

/* Simulated RAM behind phys_to_virt(); a test that touches frames sets it. */
u8 *hosted_ram;

/* A hypervisor bug: say so and abort, which a death test can observe. */
void panic(const char *fmt, ...)
{
	va_list ap;

	fputs("panic: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* glibc before 2.38 has no strlcpy; lib/string.h promises one. */
size_t strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

/* The FPU is real hardware state; a host process has none to forget. */
struct guest;
void fpu_forget(const struct guest *g)
{
	(void)g;
}
