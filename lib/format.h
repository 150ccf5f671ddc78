/*
 * A small vsnprintf: %d %i %u %x %X %p %s %c %%, with the flags '0' and '-',
 * a field width, and the length modifiers l and ll. Shared by the hypervisor
 * and the guest runtime, neither of which has a C library.
 */
#ifndef UMBRA_LIB_FORMAT_H
#define UMBRA_LIB_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
