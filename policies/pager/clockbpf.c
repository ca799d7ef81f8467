/*
 * clockbpf: CLOCK (clock.c) for the VM's own evictions, with a downloaded
 * victim chooser for revocations (clockbpf.bpf.c, at BPF_HOOK_REVOKE): the
 * framework loads it when this policy is chosen, over a region in which
 * the VM keeps the list of its clean resident frames (pager_impl.h struct
 * pager_clean_list); at a revocation request the kernel runs it and it
 * gives back clean frames, oldest listed first, with no upcall. The VM
 * finds them gone at its next entry (vm_stats part_given) and refetches
 * their pages at the next touch. Without the part (refused, or on the
 * host), it is CLOCK.
 */
#include <libos/bpf.h>
#include <libos/pager_impl.h>

#include "clock_ring.h"

#ifdef EXO_USER
BPF_OBJECT(clockbpf);
static void clockbpf_fill(void *region)
{
	((struct pager_clean_list *)region)->n = 0; /* the VM fills it */
}
static const struct policy_bpf clockbpf_part = {
	.hook = BPF_HOOK_REVOKE,
	.image = bpf_obj_clockbpf,
	.size = &bpf_obj_clockbpf_size,
	.fill = clockbpf_fill,
};
#define CLOCKBPF_PART (&clockbpf_part)
#else
#define CLOCKBPF_PART NULL /* host tests: no downloaded code */
#endif

static const struct pager_ops clockbpf_ops = {
	.info = { .kind = POLICY_PAGER,
		  .name = "clockbpf",
		  .description =
		      "clock, and a downloaded chooser that gives clean frames at a revocation",
		  .bpf = CLOCKBPF_PART },
	.init = clock_init,
	.added = clock_added,
	.accessed = clock_accessed,
	.victims = clock_victims,
	.evicted = clock_evicted,
	.clean_list = true,
};
POLICY_REGISTER(clockbpf_ops);
