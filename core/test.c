/*
 * The test runner shared by the host test binary and the kernel: walks the
 * "exo_tests" linker section, runs the selected tests, prints one line per
 * test and the untagged summary (docs/protocol.md).
 */
#include <arch/cpu.h>
#include <exo/errors.h>
#include <exo/test.h>
#include <ipi.h>
#include <percpu.h>
#include <stdarg.h>

/* Weak: a binary with no tests (a fuzz target) has no such section. */
extern const struct test_case *const __start_exo_tests[] __attribute__((weak));
extern const struct test_case *const __stop_exo_tests[] __attribute__((weak));

/* How long an each-cpu test may run on the other cores, in seconds. */
#define EACH_CPU_TIMEOUT_S 30

bool test_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

bool test_glob_match(const char *pat, const char *s)
{
	/* Iterative match with one backtrack point for the last '*'. */
	const char *star = NULL, *resume = NULL;
	while (*s) {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat == '?' || *pat == *s) {
			pat++;
			s++;
		} else if (star) {
			pat = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

void test_fail(struct test_ctx *t, const char *file, int line, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	__atomic_fetch_add(&t->failures, 1, __ATOMIC_RELAXED);
	kprintf("test: FAIL %s.%s: %s:%d: %s\n", t->tc->suite, t->tc->name, file, line, msg);
}

/* Does "suite.name" match any of the comma-separated globs? */
static bool selected(const struct test_case *tc, const char *patterns)
{
	char full[96], pat[96];
	ksnprintf(full, sizeof(full), "%s.%s", tc->suite, tc->name);
	const char *p = patterns;
	while (*p) {
		size_t n = 0;
		while (p[n] && p[n] != ',')
			n++;
		if (n < sizeof(pat)) {
			for (size_t i = 0; i < n; i++)
				pat[i] = p[i];
			pat[n] = '\0';
			if (test_streq(pat, "all") || test_glob_match(pat, full))
				return true;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static struct test_ctx each_ctx[MAX_CPUS];

static void run_here(void *arg)
{
	struct test_ctx *t = arg;
	t->tc->fn(t);
	kprintf("test: DONE %s.%s\n", t->tc->suite, t->tc->name);
	__atomic_store_n(&t->done, true, __ATOMIC_RELEASE);
}

/* Run an each-cpu test on every online core; count a missing core as a failure. */
static unsigned run_each_cpu(const struct test_case *tc)
{
	unsigned me = cpu_id(), failures = 0;
	for (unsigned c = 0; c < percpu_ncpus; c++)
		each_ctx[c] = (struct test_ctx){ .tc = tc };
	bool started[MAX_CPUS] = { false };
	for (unsigned c = 0; c < percpu_ncpus; c++) {
		if (c == me || !percpu_of(c)->online)
			continue;
		int e = smp_call_start(c, run_here, &each_ctx[c]);
		if (e) {
			kprintf("test: FAIL %s.%s: cpu%u could not start it: %s\n", tc->suite,
				tc->name, c, err_name(e));
			failures++;
			continue;
		}
		started[c] = true;
	}
	run_here(&each_ctx[me]);
	uint64_t timeout = EACH_CPU_TIMEOUT_S * arch_cycles_per_sec();
	for (unsigned c = 0; c < percpu_ncpus; c++) {
		if (!started[c])
			continue;
		if (smp_call_wait(c, timeout) != E_OK || !each_ctx[c].done) {
			kprintf("test: FAIL %s.%s: cpu%u did not report within %u s\n", tc->suite,
				tc->name, c, EACH_CPU_TIMEOUT_S);
			failures++;
		}
	}
	for (unsigned c = 0; c < percpu_ncpus; c++)
		failures += each_ctx[c].failures;
	return failures;
}

unsigned test_run(const char *patterns)
{
	unsigned passed = 0, failed = 0, skipped = 0;
	for (const struct test_case *const *p = __start_exo_tests; p < __stop_exo_tests; p++) {
		const struct test_case *tc = *p;
		if (!selected(tc, patterns))
			continue;
		unsigned online = percpu_online_count();
		if (online < tc->min_cpus) {
			kprintf("test: SKIP %s.%s: needs %u cores, %u online\n", tc->suite, tc->name,
				tc->min_cpus, online);
			skipped++;
			continue;
		}
		kprintf("test: RUN %s.%s\n", tc->suite, tc->name);
		unsigned f;
		if (tc->each_cpu) {
			f = run_each_cpu(tc);
		} else {
			struct test_ctx t = { .tc = tc };
			tc->fn(&t);
			f = t.failures;
		}
		if (f == 0) {
			kprintf("test: PASS %s.%s\n", tc->suite, tc->name);
			passed++;
		} else {
			kprintf("test: FAIL %s.%s: %u check(s) failed\n", tc->suite, tc->name, f);
			failed++;
		}
	}
	if (skipped)
		kprintf("test: %u skipped\n", skipped);
	kprintf_untagged("%u passed, %u failed", passed, failed);
	return failed;
}
