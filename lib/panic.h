/*
 * panic(): a hypervisor bug, never a guest's mistake. The hypervisor prints
 * registers and a backtrace and halts; host-side tests abort.
 */
#ifndef UMBRA_LIB_PANIC_H
#define UMBRA_LIB_PANIC_H

void panic(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/* Print the call chain from a frame pointer (the hypervisor only). */
void backtrace_from(unsigned long ebp);

#define BUG_ON(cond)							\
	do {								\
		if (__builtin_expect(!!(cond), 0))			\
			panic("BUG at %s:%d: %s", __FILE__, __LINE__, #cond); \
	} while (0)

#endif
