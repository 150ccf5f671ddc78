/*
 * Command lines: the hypervisor's own (from the bootloader) and each
 * module's. Words are separated by spaces; a word is `key=value` or `key`.
 * Pure functions with no hypervisor state, so host-side tests run them.
 */
#ifndef UMBRA_HV_CMDLINE_H
#define UMBRA_HV_CMDLINE_H

#include "../lib/types.h"

/* Copy the next word of *p into word (truncated to size), advance *p. */
bool cmdline_next(const char **p, char *word, size_t size);

/* The value of key= in cmdline, copied into buf; false if absent. */
bool cmdline_get(const char *cmdline, const char *key, char *buf, size_t size);

/* A decimal or 0x-prefixed number that fits in 32 bits. */
bool parse_u32(const char *s, u32 *out);

/* A size in bytes, with an optional K, M or G suffix: "16M", "4096". */
bool parse_size(const char *s, u64 *out);

/* A guest name: 1 to 31 letters, digits, '-', '_' or '.'. */
bool valid_name(const char *s);

/*
 * How the run ends (exit=): auto writes QEMU's debug-exit port where that
 * device is found, and otherwise powers off after success and halts after
 * failure (so the messages stay on the screen); the others do one thing.
 */
enum exit_mode { EXIT_AUTO, EXIT_QEMU, EXIT_HALT, EXIT_POWEROFF, EXIT_RESET };

struct hv_options {
	enum exit_mode exit;
	u32 loglevel;		/* 0 errors, 1 normal, 2 debug */
	u32 slice_ms;		/* scheduler time slice, 1-1000 */
	u32 audit;		/* 1: check every shadow at each switch and flush */
};

/*
 * Parse the hypervisor's command line into opts (which holds the defaults
 * on entry). Each problem is reported through warn(), one line each, and
 * parsing goes on: a typo in an option never stops the boot.
 */
void parse_hv_options(const char *cmdline, struct hv_options *opts,
		      void (*warn)(const char *msg));

#endif
