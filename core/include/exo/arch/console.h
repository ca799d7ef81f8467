/*
 * exo/arch/console.h — the raw console (x86_64: COM1, polled; host:
 * standard output, unbuffered). Declared once here; each arch's
 * <arch/console.h> includes this file.
 */
#pragma once

#include <exo/types.h>

/* Write n bytes. Not locked: callers serialize (kprintf does). */
void arch_console_write(const char *s, size_t n);
