/*
 * Command-line parsing: words, key=value lookup, numbers and sizes, guest
 * names, and the hypervisor's own options with their warnings.
 */
#include "check.h"
#include "hypervisor/cmdline.h"

static void test_next(void)
{
	const char *p = "  name=web \tmem=16M\t\tquiet  ";
	char word[32];
	char tiny[4] = "xyz";

	CHECK(cmdline_next(&p, word, sizeof(word)) && !strcmp(word, "name=web"),
	      "next: leading blanks skipped");
	CHECK(cmdline_next(&p, word, sizeof(word)) && !strcmp(word, "mem=16M"),
	      "next: a tab separates words");
	CHECK(cmdline_next(&p, word, sizeof(word)) && !strcmp(word, "quiet"),
	      "next: runs of tabs separate words");
	CHECK(!cmdline_next(&p, word, sizeof(word)), "next: trailing blanks end the line");
	p = "";
	CHECK(!cmdline_next(&p, word, sizeof(word)), "next: empty line has no word");
	p = " \t ";
	CHECK(!cmdline_next(&p, word, sizeof(word)), "next: blank line has no word");

	p = "abcdefg second";
	CHECK(cmdline_next(&p, tiny, sizeof(tiny)) && !strcmp(tiny, "abc"),
	      "next: long word truncated to the buffer");
	CHECK(cmdline_next(&p, word, sizeof(word)) && !strcmp(word, "second"),
	      "next: after truncation the next word is whole");

	p = "abc def";
	memcpy(tiny, "xyz", 4);
	CHECK(cmdline_next(&p, tiny, 0) && !memcmp(tiny, "xyz", 4) && !strcmp(p, " def"),
	      "next: size 0 skips the word without writing");
}

static void test_get(void)
{
	const char *cl = "guest.elf memx=1 mem=16M name=web empty= flag";
	char buf[32], small[3];

	CHECK(cmdline_get(cl, "mem", buf, sizeof(buf)) && !strcmp(buf, "16M"),
	      "get: finds key=value, not a key it prefixes");
	CHECK(cmdline_get(cl, "name", buf, sizeof(buf)) && !strcmp(buf, "web"),
	      "get: finds a later key");
	CHECK(!cmdline_get(cl, "me", buf, sizeof(buf)), "get: a prefix of a key is not the key");
	CHECK(!cmdline_get(cl, "timeout", buf, sizeof(buf)), "get: absent key");
	CHECK(!cmdline_get(cl, "flag", buf, sizeof(buf)), "get: a bare word has no value");
	CHECK(cmdline_get(cl, "empty", buf, sizeof(buf)) && !strcmp(buf, ""),
	      "get: key= gives the empty value");
	CHECK(cmdline_get(cl, "name", small, sizeof(small)) && !strcmp(small, "we"),
	      "get: value truncated to the buffer");
	CHECK(!cmdline_get("", "mem", buf, sizeof(buf)), "get: empty line");
	CHECK(cmdline_get("mem=1 mem=2", "mem", buf, sizeof(buf)) && !strcmp(buf, "1"),
	      "get: the first of repeated keys wins");
}

static void test_parse_u32(void)
{
	static const struct { const char *s; u32 want; } good[] = {
		{ "0", 0 }, { "7", 7 }, { "4294967295", 0xffffffff }, { "0x0", 0 },
		{ "0xffffffff", 0xffffffff }, { "0X1f", 31 }, { "0xAbC", 0xabc },
		{ "08", 8 }, { "0000000000000000000000042", 42 },
	};
	static const char *const bad[] = {
		"", "0x", "x1", "12a", "1 ", " 1", "-1", "+1", "4294967296",
		"0x100000000", "99999999999999999999999999", "0xfffffffffffffffffffff",
		"1.5", "0x1g", "1K",
	};

	for (unsigned i = 0; i < ARRAY_SIZE(good); i++) {
		u32 v = 0xdeadbeef;
		bool ok = parse_u32(good[i].s, &v);

		check_done(ok && v == good[i].want, check_fmt("parse_u32(\"%s\")", good[i].s),
			   check_fmt("returned %d, value %u, expected %u", ok, v, good[i].want));
	}
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		u32 v = 0;

		CHECK(!parse_u32(bad[i], &v), "parse_u32(\"%s\") rejected", bad[i]);
	}
}

static void test_parse_size(void)
{
	static const struct { const char *s; u64 want; } good[] = {
		{ "4096", 4096 }, { "0", 0 }, { "4k", KiB(4) }, { "4K", KiB(4) },
		{ "16M", MiB(16) }, { "16m", MiB(16) }, { "1G", 1ull << 30 },
		{ "3g", 3ull << 30 }, { "0x10M", MiB(16) }, { "0x1000", 4096 },
		{ "4294967296", 1ull << 32 }, { "1099511627775", (1ull << 40) - 1 },
		{ "1024G", 1ull << 40 }, { "17179869183G", 17179869183ull << 30 },
	};
	static const char *const bad[] = {
		"", "M", "0x", "0xM", "16MB", "16X", "1.5M", "-1M", " 16M", "16M ",
		"16 M", "1099511627776", "99999999999999999999999",
		"17179869184G",		/* 2^64: does not fit in 64 bits */
		"17179869185G",		/* 2^64 + 1 GiB: would wrap to exactly 1 GiB */
	};

	for (unsigned i = 0; i < ARRAY_SIZE(good); i++) {
		u64 v = 0xdeadbeef;
		bool ok = parse_size(good[i].s, &v);

		check_done(ok && v == good[i].want, check_fmt("parse_size(\"%s\")", good[i].s),
			   check_fmt("returned %d, value %llu, expected %llu", ok,
				     (unsigned long long)v, (unsigned long long)good[i].want));
	}
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		u64 v = 0;
		bool ok = parse_size(bad[i], &v);

		check_done(!ok, check_fmt("parse_size(\"%s\") rejected", bad[i]),
			   check_fmt("accepted as %llu", (unsigned long long)v));
	}
}

static void test_valid_name(void)
{
	static const char *const good[] = {
		"web", "a", "Z", "0", "web-1_x.y", "abcdefghijklmnopqrstuvwxyz01234",
	};
	static const char *const bad[] = {
		"", "a b", "a/b", "a=b", "web\t", "caf\xc3\xa9", "abcdefghijklmnopqrstuvwxyz012345",
	};

	for (unsigned i = 0; i < ARRAY_SIZE(good); i++)
		CHECK(valid_name(good[i]), "valid_name(\"%s\")", good[i]);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(!valid_name(bad[i]), "valid_name(\"%s\") rejected", bad[i]);
}

/* Warnings collected from parse_hv_options(). */
static char warnings[8][200];
static unsigned nwarn;

static void warn(const char *msg)
{
	if (nwarn < ARRAY_SIZE(warnings))
		snprintf(warnings[nwarn], sizeof(warnings[0]), "%s", msg);
	nwarn++;
}

static const struct hv_options defaults = { EXIT_AUTO, 1, 10, 0 };

static struct hv_options parse(const char *cl)
{
	struct hv_options o = defaults;

	nwarn = 0;
	memset(warnings, 0, sizeof(warnings));
	parse_hv_options(cl, &o, warn);
	return o;
}

static bool same(const struct hv_options *a, const struct hv_options *b)
{
	return a->exit == b->exit && a->loglevel == b->loglevel && a->slice_ms == b->slice_ms &&
	       a->audit == b->audit;
}

static void test_hv_options(void)
{
	struct hv_options o;
	char longval[300];

	o = parse("/boot/umbra.elf exit=halt loglevel=2");
	CHECK(o.exit == EXIT_HALT && o.loglevel == 2 && nwarn == 0,
	      "options: exit=halt loglevel=2 after the kernel path");
	o = parse("exit=halt");
	CHECK(o.exit == EXIT_HALT && nwarn == 0, "options: a first word with '=' is an option");
	o = parse("audit=1");
	CHECK(o.audit == 1 && nwarn == 0, "options: audit=1");
	o = parse("audit=yes");
	CHECK(o.audit == 0 && nwarn == 1 && strstr(warnings[0], "audit=yes: expected 0 or 1"),
	      "options: audit=yes is refused with a warning");
	o = parse("/boot/umbra.elf exit=halt exit=qemu loglevel=0");
	CHECK(o.exit == EXIT_QEMU && o.loglevel == 0 && nwarn == 0,
	      "options: exit=qemu, loglevel=0, the last one wins");
	o = parse("/boot/umbra.elf");
	CHECK(same(&o, &defaults) && nwarn == 0, "options: kernel path alone keeps defaults");
	o = parse("");
	CHECK(same(&o, &defaults) && nwarn == 0, "options: empty line keeps defaults");
	o = parse("/boot/umbra.elf slice=25");
	CHECK(o.slice_ms == 25 && nwarn == 0, "options: slice=25");

	o = parse("/boot/umbra.elf quiet");
	CHECK_EQ(nwarn, 1, "options: a second bare word is not skipped");
	CHECK_HAS(warnings[0], "quiet", "options: unknown bare word named in the warning");
	o = parse("/boot/umbra.elf bogus=1");
	CHECK(same(&o, &defaults) && nwarn == 1, "options: unknown option warned once");
	CHECK_HAS(warnings[0], "bogus", "options: unknown option named in the warning");

	o = parse("/boot/umbra.elf exit=reboot");
	CHECK(o.exit == EXIT_AUTO && nwarn == 1, "options: exit=reboot keeps the default");
	CHECK_HAS(warnings[0], "reboot", "options: bad exit value named in the warning");
	CHECK_HAS(warnings[0], "exit", "options: bad exit option named in the warning");
	o = parse("/boot/umbra.elf exit");
	CHECK(o.exit == EXIT_AUTO && nwarn == 1, "options: exit without a value warned");
	o = parse("/boot/umbra.elf exit=poweroff");
	CHECK(o.exit == EXIT_POWEROFF && nwarn == 0, "options: exit=poweroff");
	o = parse("/boot/umbra.elf exit=reset");
	CHECK(o.exit == EXIT_RESET && nwarn == 0, "options: exit=reset");
	o = parse("/boot/umbra.elf exit=halt exit=auto");
	CHECK(o.exit == EXIT_AUTO && nwarn == 0, "options: exit=auto");
	o = parse("/boot/umbra.elf exit=Poweroff");
	CHECK(o.exit == EXIT_AUTO && nwarn == 1 && strstr(warnings[0], "expected auto, qemu, poweroff"),
	      "options: exit= values are lower case; the warning lists them");

	o = parse("/boot/umbra.elf loglevel=3");
	CHECK(o.loglevel == 1 && nwarn == 1, "options: loglevel=3 keeps the default");
	CHECK_HAS(warnings[0], "loglevel=3", "options: bad loglevel named in the warning");
	o = parse("/boot/umbra.elf loglevel=x loglevel= loglevel");
	CHECK(o.loglevel == 1 && nwarn == 3, "options: three bad loglevels, three warnings");
	o = parse("/boot/umbra.elf loglevel=4294967298");
	CHECK(o.loglevel == 1 && nwarn == 1, "options: loglevel past 32 bits does not wrap to 2");
	o = parse("/boot/umbra.elf slice=0 slice=1001");
	CHECK(o.slice_ms == 10 && nwarn == 2, "options: slice out of 1-1000 keeps the default");

	o = parse("k a=1 exit=x loglevel=2 b");
	CHECK(o.loglevel == 2 && o.exit == EXIT_AUTO && nwarn == 3,
	      "options: good options apply among bad ones");
	CHECK(strstr(warnings[0], "'a'") && strstr(warnings[1], "exit=x") &&
	      strstr(warnings[2], "'b'"), "options: warnings come in command-line order");

	memset(longval, 'z', sizeof(longval));
	memcpy(longval, "k exit=", 7);
	longval[sizeof(longval) - 1] = '\0';
	o = parse(longval);
	CHECK(o.exit == EXIT_AUTO && nwarn == 1 && strlen(warnings[0]) < sizeof(warnings[0]),
	      "options: a 300-character value is warned about, truncated");
}

int main(void)
{
	test_next();
	test_get();
	test_parse_u32();
	test_parse_size();
	test_valid_name();
	test_hv_options();
	return check_status();
}
