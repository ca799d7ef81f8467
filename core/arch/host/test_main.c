/*
 * host-tests: the unit tests on a simulated machine.
 *
 *	host-tests [--cores N] [--seed S] [--max-steps K] [--list] [PATTERN]
 *
 * Boots a machine as the kernel would: core 0 runs the test runner, every
 * other core reports in and sits in percpu_idle_loop(), where each-cpu
 * tests reach it through smp_call. PATTERN is test_run's comma-separated
 * glob list (default "all"). Exit status: 0 if every selected test passed,
 * 1 if one failed or the machine deadlocked or ran out of steps, 2 on panic
 * or when PATTERN selects no test.
 * The same --seed gives the same interleaving, so a failure replays.
 */
#include <arch/cpu.h>
#include <arch/sim.h>
#include <exo/errors.h>
#include <exo/kprintf.h>
#include <exo/test.h>
#include <ipi.h>
#include <percpu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct test_case *const __start_exo_tests[];
extern const struct test_case *const __stop_exo_tests[];

/* How long core 0 waits for the others to report in (virtual time). */
#define REPORT_IN_TIMEOUT_S 1

struct run {
	const char *patterns;
	unsigned ncores;
	unsigned failed;
	bool started; /* every core reported in and test_run ran */
};

static void ap_main(void *arg)
{
	(void)arg;
	percpu_report_in();
	percpu_idle_loop();
}

static void bsp_main(void *arg)
{
	struct run *r = arg;
	arch_irq_enable(); /* the IPI round trips of ipi_ping need them */
	percpu_report_in();
	uint64_t t0 = arch_cycles(), limit = REPORT_IN_TIMEOUT_S * arch_cycles_per_sec();
	while (percpu_online_count() < r->ncores) {
		if (arch_cycles() - t0 > limit) {
			kprintf("host-tests: only %u of %u cores reported in\n",
			        percpu_online_count(), r->ncores);
			return;
		}
		arch_cpu_relax();
	}
	r->failed = test_run(r->patterns);
	r->started = true;
}

/* Does test_run's comma-separated glob list select tc? */
static bool selects(const char *patterns, const struct test_case *tc)
{
	char full[128];
	snprintf(full, sizeof(full), "%s.%s", tc->suite, tc->name);
	const char *s = patterns;
	while (*s) {
		size_t n = strcspn(s, ",");
		char pat[128];
		if (n < sizeof(pat)) {
			memcpy(pat, s, n);
			pat[n] = '\0';
			if (!strcmp(pat, "all") || test_glob_match(pat, full))
				return true;
		}
		s += n + (s[n] == ',');
	}
	return false;
}

/* The tests the patterns select, printed when print is set; returns how many. */
static unsigned list_tests(const char *patterns, bool print)
{
	unsigned n = 0;
	for (const struct test_case *const *p = __start_exo_tests; p < __stop_exo_tests; p++) {
		if (!selects(patterns, *p))
			continue;
		if (print)
			printf("%s.%s\n", (*p)->suite, (*p)->name);
		n++;
	}
	return n;
}

static void usage(void)
{
	fprintf(stderr, "usage: host-tests [--cores N] [--seed S] [--max-steps K] [--list] "
	                "[PATTERN]\n");
	exit(2);
}

static uint64_t parse_number(const char *s, uint64_t max)
{
	char *end;
	if (!s || !*s)
		usage();
	unsigned long long v = strtoull(s, &end, 0);
	if (*end || v > max)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	struct run r = {.patterns = "all", .ncores = 4};
	uint64_t seed = 1, max_steps = 0;
	bool list = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cores"))
			r.ncores = (unsigned)parse_number(argv[++i], MAX_CPUS);
		else if (!strcmp(argv[i], "--seed"))
			seed = parse_number(argv[++i], UINT64_MAX);
		else if (!strcmp(argv[i], "--max-steps"))
			max_steps = parse_number(argv[++i], UINT64_MAX);
		else if (!strcmp(argv[i], "--list"))
			list = true;
		else if (argv[i][0] == '-')
			usage();
		else
			r.patterns = argv[i];
	}
	if (r.ncores == 0)
		usage();
	if (list) {
		list_tests(r.patterns, true);
		return 0;
	}
	/* A pattern that selects nothing is a typo, never a pass. */
	if (list_tests(r.patterns, false) == 0) {
		fprintf(stderr, "host-tests: no test matches '%s' (host-tests --list lists them)\n",
			r.patterns);
		return 2;
	}

	sim_init(&(struct sim_config){ .ncores = r.ncores, .seed = seed, .disk_blocks = 256 });
	kprintf("host-tests: %u cores, seed %llu\n", r.ncores, (unsigned long long)seed);
	sim_start(0, bsp_main, &r);
	for (unsigned c = 1; c < r.ncores; c++)
		sim_start_daemon(c, ap_main, NULL);
	/* Returns when core 0's fiber ends; the idle loops are left to sim_fini. */
	int e = sim_run(max_steps);
	if (e != E_OK)
		kprintf("host-tests: the machine stopped with %s%s\n", err_name(e),
		        e == E_AGAIN     ? " (deadlock)"
		        : e == E_TIMEOUT ? " (step limit)"
		                         : "");
	sim_fini();
	return e == E_OK && r.started && r.failed == 0 ? 0 : 1;
}
