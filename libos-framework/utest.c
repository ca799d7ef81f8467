/*
 * The TEST macro's runner inside user programs (exo/test.h, the same macro
 * the kernel and host use). Lines say "utest:" rather than "test:" so the
 * host counts only the kernel-side test that ran the program; the program
 * exits with the number of failed tests.
 */
#include <exo/test.h>
#include <libos/libos.h>
#include <stdarg.h>

extern const struct test_case *const __start_exo_tests[];
extern const struct test_case *const __stop_exo_tests[];

bool test_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

void test_fail(struct test_ctx *t, const char *file, int line, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->failures++;
	printf("utest: FAIL %s.%s: %s:%d: %s\n", t->tc->suite, t->tc->name, file, line, msg);
}

/* patterns (words separated by ',') names the test's suite or its name. */
static bool has_word(const struct test_case *tc, const char *patterns)
{
	for (const char *w = patterns; *w;) {
		size_t n = 0;
		while (w[n] && w[n] != ',')
			n++;
		const char *names[2] = { tc->suite, tc->name };
		for (unsigned k = 0; k < 2; k++) {
			size_t i = 0;
			while (i < n && names[k][i] == w[i])
				i++;
			if (i == n && !names[k][n])
				return true;
		}
		w += n + (w[n] == ',');
	}
	return false;
}

unsigned test_run(const char *patterns)
{
	unsigned failed = 0, passed = 0;
	for (const struct test_case *const *p = __start_exo_tests; p < __stop_exo_tests; p++) {
		struct test_ctx t = { .tc = *p };
		if (patterns && !test_streq(patterns, "all") && !has_word(*p, patterns))
			continue;
		(*p)->fn(&t);
		printf("utest: %s %s.%s\n", t.failures ? "FAIL" : "PASS", (*p)->suite, (*p)->name);
		if (t.failures)
			failed++;
		else
			passed++;
	}
	printf("utest: %u passed, %u failed\n", passed, failed);
	return failed;
}
