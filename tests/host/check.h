/*
 * A tiny test framework for the host-side unit tests.
 *
 * Every check prints one line to stdout, "PASS <file>: <name>" or
 * "FAIL <file>: <name>: <detail>", which tests/run.py collects; main()
 * ends with `return check_status();`. Names and details are printf
 * formats. A check that runs over many inputs (a random sequence, a fuzz
 * loop) keeps its own verdict and reports once through check_done(), so
 * the output stays one line per behaviour.
 */
#ifndef UMBRA_TESTS_CHECK_H
#define UMBRA_TESTS_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static unsigned check_total, check_failed;

/*
 * Format into one of a few rotating buffers, so that a check's name and
 * its detail can both be built in the arguments of one call.
 */
__attribute__((format(printf, 1, 2), unused))
static const char *check_fmt(const char *fmt, ...)
{
	static char bufs[4][512];
	static unsigned next;
	char *b = bufs[next++ % 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	return b;
}

/* "test_frame" from "tests/host/test_frame.c". */
static const char *check_file(void)
{
	static char name[64];
	const char *f = strrchr(__BASE_FILE__, '/');

	if (!name[0]) {
		snprintf(name, sizeof(name), "%s", f ? f + 1 : __BASE_FILE__);
		if (strlen(name) > 2 && !strcmp(name + strlen(name) - 2, ".c"))
			name[strlen(name) - 2] = '\0';
	}
	return name;
}

__attribute__((unused))
static bool check_done(bool ok, const char *name, const char *detail)
{
	check_total++;
	if (ok) {
		printf("PASS %s: %s\n", check_file(), name);
	} else {
		check_failed++;
		printf("FAIL %s: %s: %s\n", check_file(), name, detail);
	}
	fflush(stdout);
	return ok;
}

__attribute__((unused))
static int check_status(void)
{
	fprintf(stderr, "%s: %u checks, %u failed\n", check_file(), check_total, check_failed);
	return check_failed ? 1 : 0;
}

/* Each macro evaluates to true if the check passed. */
#define CHECK(cond, ...)						\
	check_done(!!(cond), check_fmt(__VA_ARGS__), "false: " #cond)

#define CHECK_EQ(got, want, ...) ({					\
	unsigned long long got_ = (unsigned long long)(got);		\
	unsigned long long want_ = (unsigned long long)(want);		\
	check_done(got_ == want_, check_fmt(__VA_ARGS__),		\
		   check_fmt("%s is %llu (0x%llx), expected %llu (0x%llx)",	\
			     #got, got_, got_, want_, want_));		\
})

#define CHECK_STR(got, want, ...) ({					\
	const char *got_ = (got), *want_ = (want);			\
	check_done(got_ && !strcmp(got_, want_), check_fmt(__VA_ARGS__), \
		   check_fmt("%s is \"%s\", expected \"%s\"", #got,	\
			     got_ ? got_ : "(null)", want_));		\
})

/* A message that is not empty and mentions `needle`. */
#define CHECK_HAS(msg, needle, ...) ({					\
	const char *msg_ = (msg), *needle_ = (needle);			\
	check_done(msg_ && msg_[0] && strstr(msg_, needle_),		\
		   check_fmt(__VA_ARGS__),				\
		   check_fmt("\"%s\" does not mention \"%s\"",		\
			     msg_ ? msg_ : "(null)", needle_));		\
})

#endif
