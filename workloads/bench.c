/*
 * Kernel-path microbenchmarks (issue: the syscall surface), printed as
 * EXOJSON figures: cycles read with rdtsc in user mode, median/min/max over
 * `rounds` runs after a warm-up. Under `-icount shift=0` the TSC counts
 * instructions, so the same figures are exact path lengths.
 *
 * arg: bits 0..7 the set (1: every figure; 2: allocate+map only, for runs on
 * many cores at once), bits 8..31 rounds (0: 10000), bits 32..: how many
 * cores run it at once (recorded in the figures).
 */
#include <exo/stats.h>
#include <libos/libos.h>

#define VA 0x30000000ULL
#define MAX_ROUNDS 20000
#define WARMUP 200
#define RAW_NR SYSCALL_RAW_NR

static uint64_t samples[MAX_ROUNDS];

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static void report(const char *name, uint64_t n, uint64_t core, uint64_t ncores)
{
	struct stats s = stats_u64(samples, n);
	printf("EXOJSON {\"figure\":\"%s\",\"unit\":\"cycles\",\"median\":%llu,\"min\":%llu,"
	       "\"max\":%llu,\"n\":%llu,\"core\":%llu,\"cores_running\":%llu}\n",
	       name, (unsigned long long)s.median, (unsigned long long)s.min,
	       (unsigned long long)s.max, (unsigned long long)n, (unsigned long long)core,
	       (unsigned long long)ncores);
}

/* Time op() `rounds` times after a warm-up; failures make the figure worthless: count them. */
#define MEASURE(name, rounds, core, ncores, op)                        \
	do {                                                            \
		for (int w_ = 0; w_ < WARMUP; w_++) {                   \
			op;                                             \
		}                                                       \
		for (uint64_t i_ = 0; i_ < (rounds); i_++) {            \
			uint64_t t0_ = rdtsc();                         \
			op;                                             \
			samples[i_] = rdtsc() - t0_;                    \
		}                                                       \
		report(name, rounds, core, ncores);                     \
	} while (0)

static unsigned failures;
#define CHECK(x)                     \
	do {                         \
		if ((x) < 0)         \
			failures++;  \
	} while (0)

static void alloc_map_unmap_free(void)
{
	int64_t s = sys_frame_alloc(FRAME_ANY);
	CHECK(s);
	CHECK(sys_map((uint64_t)s, VA, PROT_R | PROT_W));
	CHECK(sys_unmap((uint64_t)s));
	CHECK(sys_frame_free((uint64_t)s));
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	uint64_t set = arg & 0xff, rounds = (arg >> 8) & 0xffffff;
	if (rounds == 0 || rounds > MAX_ROUNDS)
		rounds = 10000;
	uint64_t ncores = (arg >> 32) ? (arg >> 32) : 1;
	if (set == 1) {
		MEASURE("syscall_sysret_raw", rounds, core, ncores, sys_call6(RAW_NR, 0, 0, 0, 0, 0, 0));
		MEASURE("null_syscall", rounds, core, ncores, sys_core_id());
		int64_t f = sys_frame_alloc(FRAME_ANY);
		CHECK(f);
		MEASURE("cap_mint_delete", rounds, core, ncores, {
			int64_t c = sys_cap_mint((uint64_t)f, CAP_R_READ, 0);
			CHECK(c);
			CHECK(sys_cap_delete((uint64_t)c));
		});
		CHECK(sys_frame_free((uint64_t)f));
		MEASURE("frame_alloc_map_unmap_free", rounds, core, ncores, alloc_map_unmap_free());
		MEASURE("env_create_destroy", rounds / 10, core, ncores, {
			int64_t e = sys_env_create(core);
			CHECK(e);
			CHECK(sys_env_destroy((uint64_t)e));
			CHECK(sys_cap_delete((uint64_t)e));
		});
	} else if (set == 2) {
		MEASURE("frame_alloc_map_unmap_free", rounds, core, ncores, alloc_map_unmap_free());
	}
	if (failures)
		printf("bench: %u operations failed: the figures above are not valid\n", failures);
	return failures ? 1 : 0;
}
