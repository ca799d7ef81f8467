/*
 * CLOCK (second chance): the pages on a ring in load order with a hand; a
 * page whose reference bit is set (from the bulk accessed-bit scans, or
 * each reference in trace mode) has it cleared and is passed over once.
 * The default pager policy (PAGER_DEFAULT).
 */
#include "clock_ring.h"

static const struct pager_ops clock_ops = {
	.info = { .kind = POLICY_PAGER,
		  .name = "clock",
		  .description =
		      "second chance: a ring and a hand that skips referenced pages once" },
	.init = clock_init,
	.added = clock_added,
	.accessed = clock_accessed,
	.victims = clock_victims,
	.evicted = clock_evicted,
};
POLICY_REGISTER(clock_ops);
