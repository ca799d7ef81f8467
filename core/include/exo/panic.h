/*
 * panic() stops every core, prints the message, a register dump and a
 * backtrace with symbol names, and ends the run with EXIT_PANIC.
 * For kernel invariants only — never for anything a user can cause.
 */
#pragma once

#include <exo/types.h>

printf_like(1, 2) noreturn_fn void panic(const char *fmt, ...);

#define KASSERT(cond)                                                                       \
	do {                                                                                \
		if (__builtin_expect(!(cond), 0))                                           \
			panic("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__); \
	} while (0)
