/* Console output for user programs. */
#include <libos/libos.h>
#include <stdarg.h>

int printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	size_t n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = MIN(n, sizeof(buf) - 1);
	return (int)sys_console_write(buf, n);
}
