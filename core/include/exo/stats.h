/* Summary statistics for benchmark figures (median, min, max). */
#pragma once

#include <exo/types.h>

struct stats {
	uint64_t median, min, max;
	size_t n;
};

/* Sort v (n values) in place and summarize it; all zero if n == 0. */
struct stats stats_u64(uint64_t *v, size_t n);
