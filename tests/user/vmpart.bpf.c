/*
 * The downloaded part of vmcheck's test_part pager policy (tests/user/
 * vmcheck.c, run_arg=4): a revocation handler that gives nothing back
 * (its region's first word, which the policy's fill sets, is its answer:
 * 0). It exists to be loaded by the framework when the policy is chosen
 * and detached when it is swapped out.
 */
#include <exo/abi.h>

__attribute__((section("revoke"), used)) long vmpart(const struct bpf_revoke_ctx *ctx,
						     const uint64_t *region)
{
	return (long)region[0];
}
