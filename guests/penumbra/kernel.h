/* What the parts of the kernel core offer one another. */
#ifndef PENUMBRA_KERNEL_H
#define PENUMBRA_KERNEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <penumbra/abi.h>
#include "../../lib/format.h"
#include "../../lib/string.h"

#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((a) - 1))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/* kprintf.c */
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

extern struct boot_params boot_params;
extern uint64_t ticks;
extern bool need_resched;

#endif
