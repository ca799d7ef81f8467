/*
 * One test macro for the host and the guest (in the manner of Hafnium's
 * hftest). TEST(suite, name) defines a test; a pointer to its descriptor goes
 * into the linker section "exo_tests", and the runner (core/test.c) walks
 * that section. The same source file builds into the host test binary and
 * into the kernel when it lives in tests/common/.
 *
 *	TEST(cmdline, parses_numbers) {
 *		EXPECT_EQ(t, parse("x=3"), 3);
 *	}
 *
 * TEST_EACH_CPU(suite, name, min_cpus) runs the body on every online core at
 * once; each core reports, and a core that does not report in time fails the
 * test. With fewer than min_cpus cores online the test is skipped.
 */
#pragma once

#include <exo/kprintf.h>
#include <exo/types.h>

struct test_ctx;

struct test_case {
	const char *suite;
	const char *name;
	void (*fn)(struct test_ctx *t);
	bool each_cpu;	   /* run on every online core at once */
	unsigned min_cpus; /* skip below this many online cores */
};

struct test_ctx {
	const struct test_case *tc;
	unsigned failures; /* checks failed so far */
	bool done;	   /* the body returned (each-cpu bookkeeping) */
};

#define TEST_SECTION "exo_tests"

#define TEST_DEFINE_(s_, n_, each, mincpus)                                               \
	static void test_fn_##s_##_##n_(struct test_ctx *t);                                \
	static const struct test_case test_case_##s_##_##n_ = {                             \
		.suite = #s_, .name = #n_, .fn = test_fn_##s_##_##n_,                        \
		.each_cpu = (each), .min_cpus = (mincpus),                                  \
	};                                                                                  \
	static const struct test_case *const test_ptr_##s_##_##n_                           \
		__attribute__((section(TEST_SECTION), used, retain, aligned(8))) =          \
			&test_case_##s_##_##n_;                                             \
	static void test_fn_##s_##_##n_(struct test_ctx *t __attribute__((unused)))

#define TEST(suite, name) TEST_DEFINE_(suite, name, false, 1)
#define TEST_EACH_CPU(suite, name, min_cpus) TEST_DEFINE_(suite, name, true, min_cpus)

/* Record a failed check: prints "test: FAIL suite.name: file:line: msg". */
printf_like(4, 5) void test_fail(struct test_ctx *t, const char *file, int line,
				 const char *fmt, ...);

#define EXPECT(t, cond)                                                         \
	((cond) ? true : (test_fail((t), __FILE__, __LINE__, "%s", #cond), false))

#define EXPECT_EQ(t, a, b)                                                                   \
	({                                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);                          \
		a_ == b_ ? true                                                              \
			 : (test_fail((t), __FILE__, __LINE__, "%s == %s: %lld != %lld", #a, \
				      #b, a_, b_),                                           \
			    false);                                                          \
	})

#define EXPECT_STREQ(t, a, b)                                                              \
	({                                                                                 \
		const char *a_ = (a), *b_ = (b);                                           \
		test_streq(a_, b_) ? true                                                  \
				   : (test_fail((t), __FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
						#a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"), \
				      false);                                              \
	})

/* As EXPECT*, but return from the test body on failure. */
#define ASSERT(t, cond)                \
	do {                           \
		if (!EXPECT(t, cond))  \
			return;        \
	} while (0)
#define ASSERT_EQ(t, a, b)               \
	do {                             \
		if (!EXPECT_EQ(t, a, b)) \
			return;          \
	} while (0)

bool test_streq(const char *a, const char *b);

/*
 * Run every test whose "suite.name" matches one of the comma-separated
 * globs in patterns ("all" or "*" for every test). Prints one line per
 * test and the untagged summary "N passed, N failed". Returns the number
 * failed. Runs on the calling core; each-cpu tests are sent to the others
 * with smp_call (percpu/ipi.h).
 */
unsigned test_run(const char *patterns);

/* Glob match with '*' and '?'. */
bool test_glob_match(const char *pattern, const char *s);
