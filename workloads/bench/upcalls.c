/* set=upcalls: exceptions handled at user level, PCT, switching environments. */
#include "bench.h"

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
		return lazy_slot >= 0 &&
		       sys_map((uint64_t)lazy_slot, LAZY_VA, PROT_R | PROT_W) == 0;
	}
	return false;
}

void pct_server(uint64_t badge, const uint64_t a[6], uint64_t r[6])
{
	r[0] = a[0] + 1;
}

static uint8_t server_stack[4096] __attribute__((aligned(16)));

void set_upcalls(const struct bench_run *r)
{
	if (libos_set_fault_handler(bench_fault) != 0)
		failures++;
	MEASURE(r, "exception_upcall_round_trip", __asm__ volatile("ud2"));
	/* A page fault whose handler maps a frame; unmapping and freeing are outside the timing. */
	for (int w = 0; w < WARMUP; w++) {
		(void)*(volatile uint64_t *)LAZY_VA;
		CHECK(sys_frame_free((uint64_t)lazy_slot));
	}
	PROF_BEGIN();
	for (uint64_t i = 0; i < r->rounds; i++) {
		uint64_t t0 = rdtsc();
		(void)*(volatile uint64_t *)LAZY_VA;
		samples[i] = rdtsc() - t0;
		PROF_PAUSE();
		CHECK(sys_frame_free((uint64_t)lazy_slot));
		PROF_RESUME();
	}
	report(r, "page_fault_upcall_map_round_trip", r->rounds);

	/* PCT: a server environment on this core running this same program. */
	int64_t server = sys_env_create(r->core);
	int64_t ep = pct_ep_create((uint64_t)server, server_stack, sizeof(server_stack));
	CHECK(server);
	CHECK(ep);
	CHECK(start_partner(r, server, "role=server"));
	uint64_t out[6];
	MEASURE(r, "pct_call_reply", CHECK(pct_call((uint64_t)ep, (uint64_t[6]){ 1 }, out)));
	CHECK(sys_cap_delete((uint64_t)ep));
	CHECK(sys_cap_delete((uint64_t)server));

	/*
	 * Two environments yielding to each other: one sample is a round trip,
	 * two switches (SYS_YIELD, not the timer: set=switch times the slice switch).
	 */
	int64_t partner = sys_env_create(r->core);
	CHECK(partner);
	CHECK(start_partner(r, partner, "role=yielder"));
	MEASURE_X(r, "yield_round_trip_two_envs", ",\"switches\":2", sys_yield());
	CHECK(sys_cap_delete((uint64_t)partner));
}
