/*
 * The umbra guest runtime: a guest's entry point, its first stack, and
 * C wrappers for the hypercalls. Link a guest with libumbra.a and the
 * guest.ld script and write `int guest_main(const struct umbra_boot_info *)`;
 * its return value is the guest's exit code.
 */
#ifndef UMBRA_RUNTIME_H
#define UMBRA_RUNTIME_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "abi.h"
#include "bootinfo.h"
#include "hypercall.h"

int guest_main(const struct umbra_boot_info *bi);

/* Raw hypercall: number and up to four arguments; returns eax. */
static inline long umbra_hcall(uint32_t nr, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t a4)
{
	long ret;

	__asm__ volatile("int %1"
			 : "=a"(ret)
			 : "i"(UMBRA_HCALL_VECTOR), "a"(nr), "b"(a1), "c"(a2), "d"(a3), "S"(a4)
			 : "memory");
	return ret;
}

static inline long umbra_console_write(const char *s, size_t n)
{
	return umbra_hcall(UMBRA_HC_CONSOLE_WRITE, (uint32_t)(uintptr_t)s, (uint32_t)n, 0, 0);
}

static inline void umbra_yield(void)
{
	umbra_hcall(UMBRA_HC_YIELD, 0, 0, 0, 0);
}

void umbra_shutdown(uint32_t code) __attribute__((noreturn));

/*
 * printf to the guest's console. Output is sent at each newline, when 256
 * characters are waiting, and by umbra_shutdown().
 */
int umbra_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int umbra_vprintf(const char *fmt, va_list ap);
int umbra_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The value of key= on the guest's command line, or NULL. */
const char *umbra_arg(const struct umbra_boot_info *bi, const char *key, char *buf, size_t size);

/* key= as a decimal number, or `otherwise` if it is absent. */
uint32_t umbra_arg_u32(const struct umbra_boot_info *bi, const char *key, uint32_t otherwise);

/* One result line per check, in the spirit of the Xen Test Framework. */
void umbra_pass(const char *check);
void umbra_fail(const char *check, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define umbra_check(cond, name)							\
	((cond) ? umbra_pass(name) : umbra_fail(name, "%s", #cond))

/* How many FAIL lines umbra_fail() has printed: a test guest's exit code. */
unsigned umbra_failures(void);

#endif
