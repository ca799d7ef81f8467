/*
 * Kernel console output. Lines are buffered per core and written whole,
 * prefixed "[cpuN] ", so lines from different cores never interleave.
 * Formats: %d %i %u %x %X %p %s %c %% with flags '-', '0', width, and the
 * length modifiers l, ll, z (no floating point in the kernel).
 */
#pragma once

#include <exo/types.h>
#include <stdarg.h>

/* Print to the console through this core's line buffer. */
printf_like(1, 2) void kprintf(const char *fmt, ...);
void kvprintf(const char *fmt, va_list ap);

/* Write one whole line without the core tag (summaries the host parses). */
printf_like(1, 2) void kprintf_untagged(const char *fmt, ...);

/*
 * Format into buf (always NUL-terminated when size > 0). Returns the length
 * the full output would have had, as C's snprintf does.
 */
printf_like(3, 4) size_t ksnprintf(char *buf, size_t size, const char *fmt, ...);
size_t kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/*
 * Panic path: take the console even if another core died holding it, so
 * the panic message is never lost.
 */
void kprintf_panic_mode(void);
