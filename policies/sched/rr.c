/*
 * Round-robin: one FIFO queue; every thread runs a slice in turn. The
 * default sched policy (SCHED_DEFAULT), and the one a misbehaving policy is
 * replaced with, so it stays this small.
 */
#include <libos/sched_impl.h>

static struct thread *head, *tail;

static int rr_init(const uint64_t *params)
{
	head = tail = NULL;
	return 0;
}

static void rr_enqueue(struct thread *t, uint64_t now)
{
	t->pnext = NULL;
	t->pprev = tail;
	if (tail)
		tail->pnext = t;
	else
		head = t;
	tail = t;
}

static void rr_dequeue(struct thread *t)
{
	if (t->pprev)
		t->pprev->pnext = t->pnext;
	else
		head = t->pnext;
	if (t->pnext)
		t->pnext->pprev = t->pprev;
	else
		tail = t->pprev;
	t->pnext = t->pprev = NULL;
}

static struct thread *rr_pick(uint64_t now)
{
	struct thread *t = head;
	if (t)
		rr_dequeue(t);
	return t;
}

static const struct sched_ops rr = {
	.info = { .kind = POLICY_SCHED,
		  .name = "rr",
		  .description = "round-robin: one FIFO queue, a slice each in turn" },
	.init = rr_init,
	.enqueue = rr_enqueue,
	.dequeue = rr_dequeue,
	.pick = rr_pick,
};
POLICY_REGISTER(rr);
