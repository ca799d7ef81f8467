/*
 * Spins without a single system call for arg milliseconds of wall-clock time
 * (rdtsc; the rate comes from one SYS_TIME first), then exits with 0: only
 * preemption lets anything else run on its core meanwhile.
 */
#include <libos/libos.h>

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	struct sys_time t;
	if (sys_time(&t) != 0)
		return 1;
	uint64_t end = rdtsc() + t.cycles_hz / 1000 * arg;
	volatile uint64_t spins = 0;
	while (rdtsc() < end)
		spins++;
	return 0;
}
