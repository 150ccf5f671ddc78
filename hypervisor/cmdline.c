/*
 * Parsing command lines, the hypervisor's and each module's: pure
 * functions over strings, so the host-side tests run them.
 */
#include "cmdline.h"
#include "../lib/format.h"
#include "../lib/string.h"

bool cmdline_next(const char **p, char *word, size_t size)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return false;
	for (; *s && *s != ' ' && *s != '\t'; s++)
		if (n + 1 < size)
			word[n++] = *s;
	if (size)
		word[n] = '\0';
	*p = s;
	return true;
}

bool cmdline_get(const char *cmdline, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	char word[128];

	while (cmdline_next(&cmdline, word, sizeof(word)))
		if (!strncmp(word, key, klen) && word[klen] == '=') {
			strlcpy(buf, word + klen + 1, size);
			return true;
		}
	return false;
}

static bool digit_value(char c, unsigned base, unsigned *v)
{
	if (c >= '0' && c <= '9')
		*v = c - '0';
	else if (c >= 'a' && c <= 'f')
		*v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		*v = c - 'A' + 10;
	else
		return false;
	return *v < base;
}

/* Digits of s in base, stopping at the first non-digit (returned in *end). */
static bool parse_digits(const char *s, u64 *out, const char **end)
{
	unsigned base = 10, d;
	u64 v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!digit_value(*s, base, &d))
		return false;
	for (; digit_value(*s, base, &d); s++) {
		v = v * base + d;
		if (v > 0xffffffffffull)
			return false;
	}
	*out = v;
	*end = s;
	return true;
}

bool parse_u32(const char *s, u32 *out)
{
	const char *end;
	u64 v;

	if (!parse_digits(s, &v, &end) || *end || v > 0xffffffffull)
		return false;
	*out = (u32)v;
	return true;
}

bool parse_size(const char *s, u64 *out)
{
	const char *end;
	u64 v;
	unsigned shift = 0;

	if (!parse_digits(s, &v, &end))
		return false;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end || v > (~0ull >> shift))
		return false;
	*out = v << shift;
	return true;
}

bool valid_name(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return n >= 1 && n <= 31;
}

static bool exit_mode_named(const char *s, enum exit_mode *mode)
{
	static const char *const names[] = {
		[EXIT_AUTO] = "auto", [EXIT_QEMU] = "qemu", [EXIT_HALT] = "halt",
		[EXIT_POWEROFF] = "poweroff", [EXIT_RESET] = "reset",
	};

	for (unsigned m = 0; m < ARRAY_SIZE(names); m++)
		if (!strcmp(s, names[m])) {
			*mode = m;
			return true;
		}
	return false;
}

static void warnf(void (*warn)(const char *), const char *fmt, const char *arg)
{
	char msg[160];

	snprintf(msg, sizeof(msg), fmt, arg);
	warn(msg);
}

void parse_hv_options(const char *cmdline, struct hv_options *opts,
		      void (*warn)(const char *msg))
{
	char word[128];
	bool first = true;
	u32 n;

	while (cmdline_next(&cmdline, word, sizeof(word))) {
		char *val = strchr(word, '=');

		if (val)
			*val++ = '\0';
		if (first && !val) {
			first = false;
			continue;	/* the bootloader puts the kernel's path first */
		}
		first = false;
		if (!strcmp(word, "exit") && val && exit_mode_named(val, &opts->exit))
			;
		else if (!strcmp(word, "exit"))
			warnf(warn, "exit=%s: expected auto, qemu, poweroff, reset or halt; keeping "
			      "the default", val ? val : "");
		else if (!strcmp(word, "loglevel") && val && parse_u32(val, &n) && n <= 2)
			opts->loglevel = n;
		else if (!strcmp(word, "loglevel"))
			warnf(warn, "loglevel=%s: expected 0, 1 or 2; keeping the default",
			      val ? val : "");
		else if (!strcmp(word, "audit") && val && parse_u32(val, &n) && n <= 1)
			opts->audit = n;
		else if (!strcmp(word, "audit"))
			warnf(warn, "audit=%s: expected 0 or 1; keeping the default", val ? val : "");
		else if (!strcmp(word, "slice") && val && parse_u32(val, &n) && n >= 1 && n <= 1000)
			opts->slice_ms = n;
		else if (!strcmp(word, "slice"))
			warnf(warn, "slice=%s: expected milliseconds from 1 to 1000; keeping the default",
			      val ? val : "");
		else
			warnf(warn, "unknown option '%s' ignored", word);
	}
}
