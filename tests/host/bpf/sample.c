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
