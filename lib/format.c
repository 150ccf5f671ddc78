/*
 * The freestanding vsnprintf of format.h, for the hypervisor's console and
 * the guest runtime's umbra_printf, neither of which has a C library. It
 * always counts what a full write would need (the C standard's return
 * value) while storing only what fits, and it formats 64-bit numbers,
 * which on i386 needs libgcc's division helpers.
 */
#include "format.h"
#include "types.h"

struct out {
	char *buf;
	size_t size;
	size_t len;	/* what would have been written: the return value */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

struct spec {
	bool left;
	bool zero;
	int width;
	int longs;
};

static void put_str(struct out *o, const struct spec *sp, const char *s)
{
	int n = 0;

	if (!s)
		s = "(null)";
	while (s[n])
		n++;
	if (!sp->left)
		pad(o, ' ', sp->width - n);
	while (*s)
		put(o, *s++);
	if (sp->left)
		pad(o, ' ', sp->width - n);
}

static void put_num(struct out *o, const struct spec *sp, u64 v, unsigned base,
		    bool neg, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, len;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + neg;
	if (!sp->left && !sp->zero)
		pad(o, ' ', sp->width - len);
	if (neg)
		put(o, '-');
	if (!sp->left && sp->zero)
		pad(o, '0', sp->width - len);
	while (n)
		put(o, tmp[--n]);
	if (sp->left)
		pad(o, ' ', sp->width - len);
}

static const char *parse_spec(const char *f, struct spec *sp)
{
	*sp = (struct spec){ 0 };
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else
			break;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	while (*f == 'l') {
		sp->longs++;
		f++;
	}
	return f;
}

static u64 arg_unsigned(va_list *ap, int longs)
{
	if (longs >= 2)
		return va_arg(*ap, unsigned long long);
	if (longs == 1)
		return va_arg(*ap, unsigned long);
	return va_arg(*ap, unsigned int);
}

static s64 arg_signed(va_list *ap, int longs)
{
	if (longs >= 2)
		return va_arg(*ap, long long);
	if (longs == 1)
		return va_arg(*ap, long);
	return va_arg(*ap, int);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	struct spec sp;
	va_list args;

	va_copy(args, ap);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt = parse_spec(fmt + 1, &sp);
		switch (*fmt) {
		case 'd':
		case 'i': {
			s64 v = arg_signed(&args, sp.longs);

			put_num(&o, &sp, v < 0 ? -(u64)v : (u64)v, 10, v < 0, false);
			break;
		}
		case 'u':
			put_num(&o, &sp, arg_unsigned(&args, sp.longs), 10, false, false);
			break;
		case 'x':
		case 'X':
			put_num(&o, &sp, arg_unsigned(&args, sp.longs), 16, false, *fmt == 'X');
			break;
		case 'p': {
			char tmp[24];

			snprintf(tmp, sizeof(tmp), "0x%lx", (unsigned long)(uintptr_t)va_arg(args, void *));
			put_str(&o, &sp, tmp);
			break;
		}
		case 's':
			put_str(&o, &sp, va_arg(args, const char *));
			break;
		case 'c': {
			char tmp[2] = { (char)va_arg(args, int), '\0' };

			if (!tmp[0]) {		/* a NUL is one character, not an empty string */
				pad(&o, ' ', sp.left ? 0 : sp.width - 1);
				put(&o, '\0');
				pad(&o, ' ', sp.left ? sp.width - 1 : 0);
			} else {
				put_str(&o, &sp, tmp);
			}
			break;
		}
		case '\0':
			fmt--;
			break;
		default:
			put(&o, *fmt);
			break;
		}
	}
	va_end(args);
	if (size)
		o.buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
