/* arch/console.h — the raw console (host: standard output, unbuffered). */
#pragma once

#include <exo/types.h>

/* Write n bytes. Not locked: callers serialize (kprintf does). */
void arch_console_write(const char *s, size_t n);
