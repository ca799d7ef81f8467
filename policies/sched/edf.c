/*
 * Earliest deadline first (Liu and Layland, 1973): among the queued
 * periodic threads, the one whose current job's deadline (t->deadline,
 * set by the framework at each release) comes first runs. With preemption
 * at each slice, every deadline of a periodic set is met as long as its
 * utilisation (sum of budget / period) is at most 1; the framework counts
 * the misses. Threads with no deadline (0: not periodic) run in FIFO order
 * in the time the periodic ones leave.
 */
#include <libos/sched_impl.h>

enum { ON_DEADLINES = 1, ON_BACKGROUND = 2 }; /* pv[0]: which queue t is on */

static struct sched_list deadlines;  /* periodic: by deadline, FIFO among equals */
static struct sched_list background; /* deadline 0: FIFO */

static int edf_init(const uint64_t *params)
{
	deadlines = background = (struct sched_list){ 0 };
	return 0;
}

static void edf_enqueue(struct thread *t, uint64_t now)
{
	if (!t->deadline) {
		t->pv[0] = ON_BACKGROUND;
		sched_list_insert(&background, t, NULL);
		return;
	}
	/* O(queued periodic threads): a periodic set is small. */
	struct thread *at = deadlines.head;
	while (at && at->deadline <= t->deadline)
		at = at->pnext;
	t->pv[0] = ON_DEADLINES;
	sched_list_insert(&deadlines, t, at);
}

/* By pv[0], not the deadline: the queue t was put on, whatever changed since. */
static void edf_dequeue(struct thread *t)
{
	sched_list_remove(t->pv[0] == ON_DEADLINES ? &deadlines : &background, t);
}

static struct thread *edf_pick(uint64_t now)
{
	struct thread *t = deadlines.head ? deadlines.head : background.head;
	if (t)
		edf_dequeue(t);
	return t;
}

static const struct sched_ops edf = {
	.info = { .kind = POLICY_SCHED,
		  .name = "edf",
		  .description = "earliest deadline first among periodic threads; the others "
				 "(no period) FIFO in the time left" },
	.init = edf_init,
	.enqueue = edf_enqueue,
	.dequeue = edf_dequeue,
	.pick = edf_pick,
};
POLICY_REGISTER(edf);
