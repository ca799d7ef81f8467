/*
 * printf-style formatting (kvsnprintf, ksnprintf; exo/kprintf.h). No
 * dependencies beyond the compiler's headers, so the kernel, the host
 * build and every user program (libos-framework) link this same file.
 */
#include <exo/kprintf.h>
#include <exo/types.h>
#include <stdarg.h>

struct out {
	char *buf;
	size_t size;
	size_t len; /* what the whole output would need */
};

static void out_char(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void out_str(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out_char(o, s[i]);
}

struct spec {
	bool left;    /* '-': pad on the right */
	bool zero;    /* '0': pad with zeros */
	unsigned width;
	int prec; /* '.N' or '.*': at most N characters of a string; -1 none */
};

static void out_padded(struct out *o, const struct spec *sp, const char *s, size_t n)
{
	size_t pad = sp->width > n ? sp->width - n : 0;
	if (!sp->left) {
		/* Zero padding goes after a sign. */
		if (sp->zero && n > 0 && s[0] == '-') {
			out_char(o, '-');
			s++;
			n--;
		}
		for (size_t i = 0; i < pad; i++)
			out_char(o, sp->zero ? '0' : ' ');
	}
	out_str(o, s, n);
	if (sp->left)
		for (size_t i = 0; i < pad; i++)
			out_char(o, ' ');
}

static size_t fmt_unsigned(char *tmp, unsigned long long v, unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char rev[24];
	size_t n = 0;
	do {
		rev[n++] = digits[v % base];
		v /= base;
	} while (v);
	for (size_t i = 0; i < n; i++)
		tmp[i] = rev[n - 1 - i];
	return n;
}

size_t kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .size = size, .len = 0 };
	char tmp[32];

	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			out_char(&o, *p);
			continue;
		}
		struct spec sp = { .prec = -1 };
		p++;
		for (;; p++) {
			if (*p == '-')
				sp.left = true;
			else if (*p == '0')
				sp.zero = true;
			else
				break;
		}
		while (*p >= '0' && *p <= '9')
			sp.width = sp.width * 10 + (unsigned)(*p++ - '0');
		if (*p == '.') {
			sp.prec = 0;
			if (*++p == '*') {
				int v = va_arg(ap, int); /* once: MAX would read it twice */
				sp.prec = v > 0 ? v : 0;
				p++;
			}
			while (*p >= '0' && *p <= '9')
				sp.prec = sp.prec * 10 + (*p++ - '0');
		}
		int lng = 0; /* 0 int, 1 long, 2 long long, 3 size_t */
		if (*p == 'l') {
			lng = 1;
			if (*++p == 'l') {
				lng = 2;
				p++;
			}
		} else if (*p == 'z') {
			lng = 3;
			p++;
		}
		switch (*p) {
		case 'd':
		case 'i': {
			long long v = lng == 0 ? va_arg(ap, int)
				    : lng == 1 ? va_arg(ap, long)
				    : lng == 2 ? va_arg(ap, long long)
					       : (long long)va_arg(ap, size_t);
			size_t n = 0;
			unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
			if (v < 0)
				tmp[n++] = '-';
			n += fmt_unsigned(tmp + n, mag, 10, false);
			out_padded(&o, &sp, tmp, n);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			unsigned long long v = lng == 0 ? va_arg(ap, unsigned)
					     : lng == 1 ? va_arg(ap, unsigned long)
					     : lng == 2 ? va_arg(ap, unsigned long long)
							: va_arg(ap, size_t);
			size_t n = fmt_unsigned(tmp, v, *p == 'u' ? 10 : 16, *p == 'X');
			out_padded(&o, &sp, tmp, n);
			break;
		}
		case 'p': {
			uintptr_t v = (uintptr_t)va_arg(ap, void *);
			tmp[0] = '0';
			tmp[1] = 'x';
			size_t n = 2 + fmt_unsigned(tmp + 2, v, 16, false);
			out_padded(&o, &sp, tmp, n);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			size_t n = 0;
			while ((sp.prec < 0 || n < (size_t)sp.prec) && s[n])
				n++;
			out_padded(&o, &sp, s, n);
			break;
		}
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			out_padded(&o, &sp, tmp, 1);
			break;
		case '%':
			out_char(&o, '%');
			break;
		case '\0':
			p--; /* a lone '%' at the end: print it, stop */
			out_char(&o, '%');
			break;
		default: /* unknown conversion: print it as written */
			out_char(&o, '%');
			out_char(&o, *p);
			break;
		}
	}
	if (size > 0)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len;
}

size_t ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

