/*
 * The core of the guest runtime (runtime.h): the C entry after entry.asm,
 * which checks the boot magic and turns guest_main's return into a
 * shutdown hypercall; the ELF note that marks the image as an umbra guest
 * of this build's paging format; a line-buffered printf, so that one
 * console line costs one hypercall; and command-line and PASS/FAIL helpers.
 */
#include <umbra/runtime.h>
#include <umbra/elfnote.h>
#include "../../lib/format.h"
#include "../../lib/string.h"

#if UMBRA_PAE
UMBRA_GUEST_NOTE(UMBRA_PAGING_PAE);
#else
UMBRA_GUEST_NOTE(UMBRA_PAGING_2LEVEL);
#endif

void umbra_start(uint32_t magic, const struct umbra_boot_info *bi);

static void flush(void);

void umbra_shutdown(uint32_t code)
{
	flush();
	for (;;)
		umbra_hcall(UMBRA_HC_SHUTDOWN, code, 0, 0, 0);
}

void umbra_start(uint32_t magic, const struct umbra_boot_info *bi)
{
	if (magic != UMBRA_BOOT_MAGIC) {
		umbra_printf("runtime: bad boot magic 0x%x\n", magic);
		umbra_shutdown(255);
	}
	umbra_shutdown((uint32_t)guest_main(bi));
}

/* Output is gathered into lines so that one line costs one hypercall. */
static char line[256];
static size_t line_len;

static void flush(void)
{
	if (line_len)
		umbra_console_write(line, line_len);
	line_len = 0;
}

int umbra_vprintf(const char *fmt, va_list ap)
{
	char buf[256];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	for (int i = 0; i < n && i < (int)sizeof(buf) - 1; i++) {
		line[line_len++] = buf[i];
		if (buf[i] == '\n' || line_len == sizeof(line))
			flush();
	}
	return n;
}

int umbra_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = umbra_vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int umbra_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

const char *umbra_arg(const struct umbra_boot_info *bi, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	const char *p = bi->cmdline;

	while (*p) {
		const char *w = p;
		size_t n = 0;

		while (*p && *p != ' ')
			p++, n++;
		while (*p == ' ')
			p++;
		if (n > klen && !strncmp(w, key, klen) && w[klen] == '=') {
			size_t vlen = n - klen - 1 < size - 1 ? n - klen - 1 : size - 1;

			memcpy(buf, w + klen + 1, vlen);
			buf[vlen] = '\0';
			return buf;
		}
	}
	return NULL;
}

uint32_t umbra_arg_u32(const struct umbra_boot_info *bi, const char *key, uint32_t otherwise)
{
	char buf[16];
	const char *s = umbra_arg(bi, key, buf, sizeof(buf));
	uint32_t v = 0;

	if (!s)
		return otherwise;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (uint32_t)(*s++ - '0');
	return v;
}

static unsigned failures;

unsigned umbra_failures(void)
{
	return failures;
}

void umbra_pass(const char *check)
{
	umbra_printf("PASS %s\n", check);
}

void umbra_fail(const char *check, const char *fmt, ...)
{
	va_list ap;

	failures++;
	umbra_printf("FAIL %s: ", check);
	va_start(ap, fmt);
	umbra_vprintf(fmt, ap);
	va_end(ap);
	umbra_printf("\n");
}
