/*
 * Kernel-path microbenchmarks (issue: the syscall surface), printed as
 * EXOJSON figures: cycles read with rdtsc in user mode, median/min/max over
 * `rounds` runs after a warm-up. Under `-icount shift=0` the TSC counts
 * instructions, so the same figures are exact path lengths.
 *
 * arg: bits 0..7 the set (1: the syscall surface; 2: allocate+map only, for
 * runs on many cores at once; 3: upcalls, protected control transfer and
 * environment switches; 9, 10: partner roles that set 3 starts itself),
 * bits 8..31 rounds (0: 10000), bits 32..: how many cores run it at once
 * (recorded in the figures). arg 9 and 10 are internal.
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

/* Set 3: exceptions handled at user level, PCT, switching environments. */
#define LAZY_VA 0x40000000ULL
static int64_t lazy_slot = -1;

static bool bench_fault(struct upcall_fault *uf)
{
	if (uf->vector == 6) { /* ud2: skip it */
		uf->regs.rip += 2;
		return true;
	}
	if (uf->vector == 14 && (uf->addr & ~0xfffULL) == LAZY_VA) {
		lazy_slot = sys_frame_alloc(FRAME_ANY);
		return lazy_slot >= 0 && sys_map((uint64_t)lazy_slot, LAZY_VA, PROT_R | PROT_W) == 0;
	}
	return false;
}

void pct_server(uint64_t badge, const uint64_t a[6], uint64_t r[6])
{
	r[0] = a[0] + 1;
}

static uint8_t server_stack[4096] __attribute__((aligned(16)));

static void upcall_set(uint64_t rounds, uint64_t self_prog, uint64_t core, uint64_t ncores)
{
	if (libos_set_fault_handler(bench_fault) != 0)
		failures++;
	MEASURE("exception_upcall_round_trip", rounds, core, ncores, __asm__ volatile("ud2"));
	/* A page fault whose handler maps a frame; unmapping and freeing are outside the timing. */
	for (int w = 0; w < WARMUP; w++) {
		(void)*(volatile uint64_t *)LAZY_VA;
		CHECK(sys_frame_free((uint64_t)lazy_slot));
	}
	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		(void)*(volatile uint64_t *)LAZY_VA;
		samples[i] = rdtsc() - t0;
		CHECK(sys_frame_free((uint64_t)lazy_slot));
	}
	report("page_fault_upcall_map_round_trip", rounds, core, ncores);

	/* PCT: a server environment on this core running this same program. */
	int64_t server = sys_env_create(core);
	int64_t ep = pct_ep_create((uint64_t)server, server_stack, sizeof(server_stack));
	CHECK(server);
	CHECK(ep);
	CHECK(sys_env_start((uint64_t)server, self_prog, 9));
	uint64_t r[6];
	MEASURE("pct_call_reply", rounds, core, ncores,
		CHECK(pct_call((uint64_t)ep, (uint64_t[6]){ 1 }, r)));
	CHECK(sys_cap_delete((uint64_t)ep));
	CHECK(sys_cap_delete((uint64_t)server));

	/* Two environments yielding to each other: one round trip is two switches. */
	int64_t partner = sys_env_create(core);
	CHECK(partner);
	CHECK(sys_env_start((uint64_t)partner, self_prog, 10));
	MEASURE("yield_round_trip_two_envs", rounds, core, ncores, sys_yield());
	CHECK(sys_cap_delete((uint64_t)partner));
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg == 9 || arg == 10) /* partner roles: the server waits for calls; the yielder yields */
		for (;;)
			sys_yield();
	uint64_t set = arg & 0xff, rounds = (arg >> 8) & 0xffffff;
	if (rounds == 0 || rounds > MAX_ROUNDS)
		rounds = 10000;
	uint64_t ncores = (arg >> 32) & 0xff ? (arg >> 32) & 0xff : 1;
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
	} else if (set == 3) {
		upcall_set(rounds, libos_self_prog, core, ncores);
	}
	if (failures)
		printf("bench: %u operations failed: the figures above are not valid\n", failures);
	return failures ? 1 : 0;
}
