/* Figure lines and timing loops for programs (libos/bench.h). */
#include <exo/stats.h>
#include <exo/string.h>
#include <libos/args.h>
#include <libos/bench.h>
#include <libos/libos.h>
#include <libos/sched.h>

static void print_line(const char *figure, const char *unit, struct stats s, const char *extra)
{
	char pol[256];
	libos_policies_json(pol, sizeof(pol));
	const char *accel = libos_arg("accel"), *icount = libos_arg("icount");
	/* One write per line: console lines from several cores do not interleave within it. */
	char line[768];
	ksnprintf(line, sizeof(line),
		  "EXOJSON {\"figure\":\"%s\"%s%s,\"unit\":\"%s\",\"median\":%llu,\"min\":%llu,"
		  "\"max\":%llu,\"n\":%zu,\"accel\":\"%s\",\"icount\":%s,\"core\":%lld,"
		  "\"policies\":%s}\n",
		  figure, extra ? "," : "", extra ? extra : "", unit, (unsigned long long)s.median,
		  (unsigned long long)s.min, (unsigned long long)s.max, s.n,
		  accel ? accel : "unknown", icount && icount[0] == 'y' ? "true" : "false",
		  (long long)sys_core_id(), pol);
	(void)sys_console_write(line, MIN(strlen(line), sizeof(line) - 1));
}

void libos_figure(const char *figure, const char *unit, uint64_t *samples, size_t n,
		  const char *extra)
{
	print_line(figure, unit, stats_u64(samples, n), extra);
}

void libos_figure_value(const char *figure, const char *unit, uint64_t value, const char *extra)
{
	print_line(figure, unit,
		   (struct stats){ .median = value, .min = value, .max = value, .n = 1 }, extra);
}

size_t libos_time_each(void (*fn)(void *), void *arg, size_t warmup, uint64_t *samples, size_t n)
{
	for (size_t i = 0; i < warmup; i++)
		fn(arg);
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = libos_cycles();
		fn(arg);
		samples[i] = libos_cycles() - t0;
	}
	return n;
}
