/*
 * Programs for tests/host/bpf_test.c, compiled by configure.py with
 * `clang -target bpf -O2 -c` and embedded in the host tests: the ELF reader
 * must find each section, and the verifier must accept what clang emits
 * (or refuse it, for the section that uses a global variable).
 * The hook is the test's: ctx of 64 bytes ([32, 48) writable), a writable
 * region of 256 bytes, helper 1 adds its two arguments.
 */
#define SEC(name) __attribute__((section(name), used))

static long (*const add)(long a, long b) = (void *)1;

/* region[(ctx[5] & 31) * 8] + ctx[1], and that plus one into ctx[32]; 0 if ctx[0] > 100. */
SEC("test") unsigned long sample(unsigned char *ctx, unsigned char *region)
{
	unsigned idx = ctx[5] & 31;
	unsigned long v = region[idx * 8];
	if (ctx[0] > 100)
		return 0;
	ctx[32] = (unsigned char)(v + 1);
	return v + ctx[1];
}

/* A helper call: ctx[0] + 2. */
SEC("helper") long call_helper(unsigned char *ctx)
{
	return add(ctx[0], 2);
}

/* A global variable: a relocation against the section, which exocore refuses. */
static int counter;
SEC("global") int uses_global(void *ctx)
{
	return ++counter;
}

/* A signed int index, checked both ways (clang sign-extends it with a shift pair). */
SEC("signed") long signed_index(unsigned char *ctx, unsigned char *region)
{
	int i = *(int *)(ctx + 8);
	if (i < 0 || i > 200)
		return -1;
	return region[i];
}

/* A copy of up to four words, unrolled by clang into forward branches. */
SEC("unrolled") int copy_words(unsigned char *ctx, unsigned long *region)
{
	unsigned n = *(unsigned *)ctx;
	int k = 0;
#pragma clang loop unroll(full)
	for (unsigned i = 0; i < 4; i++) {
		if (i < n) {
			((unsigned long *)(ctx + 16))[i] = region[i];
			k++;
		}
	}
	return k;
}

/* A switch: a tree of compares and jumps. */
SEC("switch") long switch_case(unsigned char *ctx)
{
	switch (*(unsigned *)ctx) {
	case 0:
		return 10;
	case 1:
		return 20;
	case 2:
		return 33;
	case 5:
		return 7;
	case 9:
		return 1;
	default:
		return 0;
	}
}
