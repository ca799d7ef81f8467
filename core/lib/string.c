/*
 * The C library functions the compiler may call on its own (memcpy, memset,
 * memmove, memcmp) plus strlen. Kernel-only: the host build uses its libc.
 */
#include <exo/types.h>

/* Word at a time when both ends allow it: frames are zeroed and copied whole. */
#define WORD_ALIGNED(p) (((uintptr_t)(p) & 7) == 0)

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (WORD_ALIGNED(d) && WORD_ALIGNED(s) && n >= 8) {
		/* rep movsq: one instruction a word (fast strings on hardware, one count each under -icount). */
		size_t words = n / 8;
		__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(words) : : "memory");
		n &= 7;
	}
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	if (WORD_ALIGNED(d) && n >= 8) {
		uint64_t w = 0x0101010101010101ULL * (unsigned char)c;
		size_t words = n / 8;
		__asm__ volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(w) : "memory");
		n &= 7;
	}
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}
