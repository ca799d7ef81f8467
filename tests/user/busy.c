/*
 * Loops arg million times without a system call, then exits with 0: a fixed
 * amount of work that only preemption can interrupt. (spinner.c spins for a
 * wall-clock time instead; a host that starves the vCPU can swallow that.)
 */
#include <libos/libos.h>

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	volatile uint64_t spins = 0;
	for (uint64_t i = 0; i < arg * 1000000; i++)
		spins++;
	return 0;
}
