/*
 * The host's stand-ins for what policies use of a running program (the
 * cycle counter), so policy files build unchanged into the host tests and
 * the policy-list tool. Tests set the clock by hand (libos_host_now).
 */
#include <libos/sched_impl.h>

uint64_t libos_host_now;

uint64_t libos_cycles(void)
{
	return libos_host_now;
}
uint64_t libos_cycles_hz(void)
{
	return 1000000000ULL;
}
