/*
 * memscan: touch a region of anonymous memory larger than the frame budget
 * in one of four patterns, under the chosen pager policy, and print pages
 * touched per second, faults, evictions and swap traffic.
 *
 *   tools/exo run -- run=memscan pager=clock pattern=zipf frames=32
 *   tools/exo run --disk 64M -- run=memscan pager=lru pattern=uniform write_pct=30
 *
 * Patterns: seq (pages 0..N-1 in order, again and again), loop (the same,
 * over budget + budget/8 pages: the case LRU loses and MRU wins), uniform
 * (each page equally likely), zipf (page i with weight 1/(i+1)^theta).
 * The reference string is generated first and given to the VM as a trace,
 * so OPT can run here too. A write_pct share of the accesses are writes
 * (dirty pages need swap: the disk, given with --disk); without a disk
 * the default is reads only, where clean pages are simply dropped.
 */
#include <libos/args.h>
#include <libos/bench.h>
#include <libos/libos.h>
#include <libos/pager_impl.h>
#include <libos/sched.h>
#include <libos/vm.h>

LIBOS_PROGRAM_PARAMS({ "pattern", "zipf", "seq, loop, uniform or zipf" },
		     { "frames", "32", "the frame budget" },
		     { "pages", "0", "pages in the region (0: loop budget*9/8, else budget*3)" },
		     { "accesses", "10000", "page accesses (at most 16384)" },
		     { "write_pct", "0", "share of accesses that write (needs swap: --disk)" },
		     { "theta", "99", "zipf: the exponent theta, in hundredths" },
		     { "seed", "1", "the access generator's seed" },
		     { "backing", "auto", "swap: auto, disk or none" });

#define ACC_MAX 16384 /* each page of the image costs a capability slot: keep it small */
#define PAGES_MAX 512
#define BASE 0x300000000ULL

static uint32_t trace[ACC_MAX];	      /* the pages, in access order */
static uint64_t writes[ACC_MAX / 64]; /* access i writes */
static double cdf[PAGES_MAX];

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* ln and exp for the Zipf weights (no libm in a freestanding program). */
static double ln(double x)
{
	int e = 0;
	while (x > 2) {
		x /= 2;
		e++;
	}
	while (x < 1) {
		x *= 2;
		e--;
	}
	double z = (x - 1) / (x + 1), z2 = z * z, term = z, sum = 0;
	for (int k = 1; k < 60; k += 2) {
		sum += term / k;
		term *= z2;
	}
	return 2 * sum + e * 0.6931471805599453;
}

static double expo(double y)
{
	int k = (int)(y / 0.6931471805599453);
	double r = y - k * 0.6931471805599453, term = 1, sum = 1;
	for (int i = 1; i < 25; i++) {
		term *= r / i;
		sum += term;
	}
	for (; k > 0; k--)
		sum *= 2;
	for (; k < 0; k++)
		sum /= 2;
	return sum;
}

static unsigned zipf_pick(unsigned pages, uint64_t *rng)
{
	double u = (double)(pager_rand(rng) >> 11) / (double)(1ULL << 53) * cdf[pages - 1];
	unsigned lo = 0, hi = pages - 1;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	const char *pattern = libos_arg("pattern"), *backing = libos_arg("backing");
	unsigned frames = (unsigned)libos_arg_u64("frames", 32);
	unsigned pages = (unsigned)libos_arg_u64("pages", 0);
	unsigned n = (unsigned)MIN(libos_arg_u64("accesses", 10000), ACC_MAX);
	unsigned write_pct = (unsigned)libos_arg_u64("write_pct", 0);
	double theta = (double)libos_arg_u64("theta", 99) / 100.0;
	uint64_t rng = libos_arg_u64("seed", 1);
	int kind = streq(pattern, "seq")       ? 0
		   : streq(pattern, "loop")    ? 1
		   : streq(pattern, "uniform") ? 2
		   : streq(pattern, "zipf")    ? 3
					       : -1;
	if (kind < 0 || !frames || write_pct > 100) {
		printf("memscan: pattern must be seq, loop, uniform or zipf; frames >= 1; "
		       "write_pct <= 100\n");
		return 2;
	}
	if (!pages)
		pages = kind == 1 ? frames + MAX(frames / 8, 1) : frames * 3;
	pages = MIN(pages, PAGES_MAX);
	if (kind == 3) {
		double acc = 0;
		for (unsigned i = 0; i < pages; i++) {
			acc += expo(-theta * ln((double)(i + 1)));
			cdf[i] = acc;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned pg = kind <= 1	  ? i % pages
			      : kind == 2 ? (unsigned)(pager_rand(&rng) % pages)
					  : zipf_pick(pages, &rng);
		trace[i] = pg;
		if (pager_rand(&rng) % 100 < write_pct)
			writes[i / 64] |= 1ULL << (i % 64);
	}
	vm_set_trace(trace, n);
	struct vm_config cfg = {
		.budget = frames,
		.max_pages = pages,
		.backing = streq(backing, "disk")   ? VM_BACKING_DISK
			   : streq(backing, "none") ? VM_BACKING_NONE
						    : VM_BACKING_AUTO,
	};
	int err = vm_start(&cfg);
	if (!err)
		err = vm_region_add(BASE, pages);
	if (err) {
		printf("memscan: vm: %s\n", err_name(err));
		return 2;
	}
	uint64_t t0 = libos_cycles(), sum = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t va = BASE + (uint64_t)trace[i] * 4096 + (uint64_t)(i % 512) * 8;
		vm_trace_at(i);
		if (writes[i / 64] >> (i % 64) & 1)
			*(volatile uint64_t *)va = i;
		else
			sum += *(volatile uint64_t *)va;
	}
	uint64_t cycles = libos_cycles() - t0;
	struct vm_stats st;
	vm_stats(&st);
	char extra[200];
	ksnprintf(extra, sizeof(extra),
		  "\"pattern\":\"%s\",\"pages\":%u,\"frames\":%u,\"accesses\":%u,\"write_pct\":%u",
		  pattern, pages, frames, n, write_pct);
	libos_figure_value("memscan_faults", "faults", st.faults, extra);
	libos_figure_value("memscan_rate", "pages/s",
			   cycles ? (uint64_t)n * libos_cycles_hz() / cycles : 0, extra);
	libos_figure_value("memscan_cycles_per_access", "cycles", n ? cycles / n : 0, extra);
	vm_print_figures(extra);
	printf("memscan: %s %s pages %u frames %u accesses %u: faults %llu evictions %llu swap "
	       "r/w %llu/%llu (sum %llu)\n",
	       vm_pager_current(), pattern, pages, frames, n, (unsigned long long)st.faults,
	       (unsigned long long)st.evictions, (unsigned long long)st.swap_reads,
	       (unsigned long long)st.swap_writes, (unsigned long long)(sum & 1));
	return 0;
}
