#include <exo/stats.h>

/* Heap sort: O(n log n), no recursion, no allocation (kernel stacks are small). */
static void sift(uint64_t *v, size_t root, size_t n)
{
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && v[child + 1] > v[child])
			child++;
		if (v[root] >= v[child])
			return;
		uint64_t t = v[root];
		v[root] = v[child];
		v[child] = t;
		root = child;
	}
}

struct stats stats_u64(uint64_t *v, size_t n)
{
	if (n == 0)
		return (struct stats){ 0 };
	for (size_t i = n / 2; i-- > 0;)
		sift(v, i, n);
	for (size_t end = n - 1; end > 0; end--) {
		uint64_t t = v[0];
		v[0] = v[end];
		v[end] = t;
		sift(v, 0, end);
	}
	/* Even n: the lower middle, so the median is always a measured value. */
	return (struct stats){ .median = v[(n - 1) / 2], .min = v[0], .max = v[n - 1], .n = n };
}
