/*
 * lib/format.c against the C library's snprintf, which is the reference
 * for everything the freestanding one claims to support.
 *
 * Both are called snprintf, so format.c is compiled into this file under
 * other names. check.h comes first: it uses the C library's.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

#define vsnprintf umbra_vsnprintf
#define snprintf umbra_snprintf
#include "../../lib/format.c"
#undef vsnprintf
#undef snprintf

static char ubuf[512], lbuf[512];

static void same(const char *fmt, const char *args, int un, int ln)
{
	check_done(un == ln && !strcmp(ubuf, lbuf), check_fmt("\"%s\" %s", fmt, args),
		   check_fmt("umbra gave \"%s\" (%d), libc \"%s\" (%d)", ubuf, un, lbuf, ln));
}

/* Format the same arguments with both and compare text and return value. */
#define SAME(fmt, ...)							\
	same(fmt, #__VA_ARGS__,						\
	     umbra_snprintf(ubuf, sizeof(ubuf), fmt, ##__VA_ARGS__),	\
	     snprintf(lbuf, sizeof(lbuf), fmt, ##__VA_ARGS__))

static void test_integers(void)
{
	SAME("%d", 0);
	SAME("%d", 42);
	SAME("%d", -42);
	SAME("%d", INT_MAX);
	SAME("%d", INT_MIN);
	SAME("%i", -7);
	SAME("%u", 0u);
	SAME("%u", 3000000000u);
	SAME("%u", UINT_MAX);
	SAME("%x", 0u);
	SAME("%x", 0xdeadbeefu);
	SAME("%x", UINT_MAX);
	SAME("%X", 0xdeadbeefu);
	SAME("%x%X", 0xabcu, 0xabcu);
}

static void test_width_and_flags(void)
{
	SAME("[%5d]", 42);
	SAME("[%-5d]", 42);
	SAME("[%05d]", 42);
	SAME("[%05d]", -42);
	SAME("[%5d]", -42);
	SAME("[%-5d]", -42);
	SAME("[%-05d]", 42);
	SAME("[%0-5d]", 42);
	SAME("[%00005d]", 42);
	SAME("[%0d]", 5);
	SAME("[%1d]", 12345);
	SAME("[%3d]", INT_MIN);
	SAME("[%012d]", INT_MIN);
	SAME("[%08x]", 0xbeefu);
	SAME("[%-8x]", 0xbeefu);
	SAME("[%08X]", 0xbeefu);
	SAME("[%8u]", 0u);
	SAME("[%08u]", 0u);
	SAME("[%200d]", 1);
	SAME("[%-200x]", 1u);
}

static void test_lengths(void)
{
	SAME("%ld", LONG_MIN);
	SAME("%ld", LONG_MAX);
	SAME("%li", -1L);
	SAME("%lu", ULONG_MAX);
	SAME("%lx", 0x12345678ul);
	SAME("%lld", LLONG_MIN);
	SAME("%lld", LLONG_MAX);
	SAME("%lli", -1234567890123LL);
	SAME("%llu", ULLONG_MAX);
	SAME("%llx", 0x0123456789abcdefULL);
	SAME("%llX", 0xfedcba9876543210ULL);
	SAME("[%016llx]", 0xabcULL);
	SAME("[%-20lld]", -5LL);
	SAME("[%20llu]", 1ULL << 63);
	SAME("%d %lld %d", 1, 2LL, 3);	/* a 64-bit argument between 32-bit ones */
	SAME("%llx %x %llx", 1ULL << 40, 7u, ~0ULL);
}

static void test_strings_and_chars(void)
{
	const char *volatile null = NULL;

	SAME("%s", "hello");
	SAME("[%s]", "");
	SAME("[%10s]", "hello");
	SAME("[%-10s]", "hello");
	SAME("[%2s]", "hello");
	SAME("[%-3s]", "");
	SAME("%s=%s", "key", "value");
	SAME("[%s]", null);
	SAME("%c", 'A');
	SAME("%c%c%c", 'a', 'b', 'c');
	SAME("[%c]", 0xe9);
	SAME("[%5c]", 'x');
	SAME("[%-3c]", 'x');
	SAME("100%%");
	SAME("%%d");
	SAME("[%d%%]", 50);
	SAME("");
	SAME("no conversions at all");
}

static void test_pointers(void)
{
	SAME("%p", (void *)0x1234);
	SAME("%p", (void *)(uintptr_t)0xdeadbeefu);
	SAME("%p", (void *)(uintptr_t)0xffffffffffffull);
	SAME("[%20p]", (void *)0x1234);
	SAME("[%-20p]", (void *)0x1234);
}

static void test_mixed(void)
{
	SAME("guest \"%s\": set_pte: frame 0x%x beyond limit 0x%x (killed)", "web",
	     0x1f3a0u, 0x4000u);
	SAME("[%-8s|%08x|%5d|%c|%llu]", "ab", 0x1fu, -3, 'z', 1ULL << 50);
	SAME("%s%d%s%u%s%x", "a", 1, "b", 2u, "c", 3u);
}

/* A trailing lone '%' or flag must end the output, not run past the NUL. */
static void test_trailing_percent(void)
{
	static const char *const fmts[] = { "abc%", "abc%-", "abc%05", "abc%l", "abc%ll" };

	for (unsigned i = 0; i < ARRAY_SIZE(fmts); i++) {
		char buf[16];
		int n = umbra_snprintf(buf, sizeof(buf), fmts[i], 0);

		check_done(n == 3 && !strcmp(buf, "abc"), check_fmt("trailing \"%s\" ends the output", fmts[i]),
			   check_fmt("gave \"%s\" (%d)", buf, n));
	}
}

/*
 * At every buffer size from 0 to past the full length: the return value is
 * the full length, the buffer holds the longest prefix that fits plus NUL,
 * and nothing beyond size is written (each buffer is a heap block of exactly
 * size bytes, so ASan would see it).
 */
#define TRUNC(fmt, ...) ({						\
	int full_ = snprintf(lbuf, sizeof(lbuf), fmt, ##__VA_ARGS__);	\
	char detail_[300] = "";						\
	for (size_t size_ = 0; size_ <= (size_t)full_ + 2 && !detail_[0]; size_++) { \
		char *b_ = size_ ? malloc(size_) : NULL;		\
		char want_[512];					\
		int un_ = umbra_snprintf(b_, size_, fmt, ##__VA_ARGS__);	\
		int ln_ = snprintf(want_, size_ ? size_ : 1, fmt, ##__VA_ARGS__); \
		if (un_ != full_ || ln_ != full_)				\
			snprintf(detail_, sizeof(detail_), "size %zu: returned %d, not %d", \
				 size_, un_, full_);			\
		else if (size_ && strcmp(b_, want_))			\
			snprintf(detail_, sizeof(detail_), "size %zu: \"%s\", not \"%s\"", \
				 size_, b_, want_);			\
		free(b_);						\
	}								\
	check_done(!detail_[0], check_fmt("truncation of \"%s\" %s at every size", fmt, \
					  #__VA_ARGS__), detail_);	\
})

static void test_truncation(void)
{
	TRUNC("hello, world");
	TRUNC("%d", -123456);
	TRUNC("[%-8s|%08x]", "ab", 0x1fu);
	TRUNC("%20llu", ULLONG_MAX);
	TRUNC("%s and %s", "first", "second");
	TRUNC("%c%c", 'x', 'y');
	TRUNC("");
}

static void test_size_zero(void)
{
	char buf[4] = "xyz";

	CHECK_EQ(umbra_snprintf(NULL, 0, "%s=%d", "answer", 42), 9,
		 "size 0 with no buffer returns the full length");
	CHECK(umbra_snprintf(buf, 0, "%d", 12345) == 5 && !strcmp(buf, "xyz"),
	      "size 0 leaves the buffer untouched");
	CHECK(umbra_snprintf(buf, 1, "%d", 12345) == 5 && buf[0] == '\0',
	      "size 1 holds only the NUL");
}

int main(void)
{
	test_integers();
	test_width_and_flags();
	test_lengths();
	test_strings_and_chars();
	test_pointers();
	test_mixed();
	test_trailing_percent();
	test_truncation();
	test_size_zero();
	return check_status();
}
