/*
 * clockbpf's downloaded victim chooser (policies/pager/clockbpf.c): at a
 * revocation request it gives back frames from the VM's clean list in its
 * region (struct pager_clean_list, libos/pager_impl.h), oldest listed
 * first, in the kernel and with no upcall. Every frame listed is clean
 * (its contents are on swap, or zero), so giving it loses nothing; the VM
 * notices the frames gone at its next entry. Up to CHOOSE frames a request
 * (no loops: unrolled); what it leaves, the upcall asks for as before.
 */
#include <exo/abi.h>

#define CHOOSE 16
#define CLEAN_MAX 500 /* PAGER_CLEAN_MAX */

struct clean_list {
	uint64_t n;
	uint64_t frame[CLEAN_MAX];
};

static long (*const revoke_give)(uint64_t frame) = (void *)BPF_HELPER_REVOKE_GIVE;

__attribute__((section("revoke"), used)) long clockbpf(const struct bpf_revoke_ctx *ctx,
						       const struct clean_list *l)
{
	uint64_t n = l->n, want = ctx->count, asked = ctx->frame, given = 0;
#pragma unroll
	for (unsigned i = 0; i < CHOOSE; i++) {
		if (i >= n || given >= want)
			break;
		uint64_t f = l->frame[i];
		if (asked != FRAME_ANY && f != asked)
			continue;
		if (revoke_give(f) == 0)
			given++;
	}
	return 0;
}
