/*
 * Measuring in a program: the cycle counter (libos_cycles, in libos/sched.h),
 * sample buffers, and one call that prints a figure line (EXOJSON, see
 * docs/protocol.md) already carrying the accelerator, -icount, the core
 * and the policies the program runs with. docs/programs.md shows a whole
 * benchmark.
 */
#pragma once

#include <exo/types.h>

/*
 * Print one figure: median, min, max and n of samples[0..n) (sorted in
 * place), in unit ("cycles"; instructions under -icount). extra is more
 * JSON members without braces ("\"cores\":2,\"to\":1") or NULL.
 */
void libos_figure(const char *figure, const char *unit, uint64_t *samples, size_t n,
		  const char *extra);

/* A single value (a share, a count): median = min = max = value, n = 1. */
void libos_figure_value(const char *figure, const char *unit, uint64_t value, const char *extra);

/*
 * Run fn(arg) warmup times untimed, then n times timed one by one into
 * samples[0..n); returns n. The cost of reading the clock is not subtracted
 * (say so where it matters: about 20 instructions under -icount).
 */
size_t libos_time_each(void (*fn)(void *), void *arg, size_t warmup, uint64_t *samples, size_t n);
