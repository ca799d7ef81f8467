/*
 * Lottery (Waldspurger and Weihl, OSDI '94): at each pick, draw one ticket
 * among those of the queued threads; its holder runs. A thread's share of
 * the CPU converges to its share of the tickets (attr.tickets), and no
 * thread starves. The draw is a seeded xorshift, so a run replays.
 */
#include <libos/sched_impl.h>

static struct sched_list queue;
static uint64_t total; /* tickets held by the queued threads */
static uint64_t rng;   /* xorshift state: never 0 */

static int lottery_init(const uint64_t *params)
{
	if (!params[0])
		return E_INVAL; /* xorshift would stay at 0 */
	queue = (struct sched_list){ 0 };
	total = 0;
	rng = params[0];
	return 0;
}

/*
 * At least one ticket each, so every thread can win; the count is kept
 * in pv[0] so dequeue takes back exactly what enqueue added.
 */
static void lottery_enqueue(struct thread *t, uint64_t now)
{
	t->pv[0] = MAX(t->attr.tickets, 1u);
	total += t->pv[0];
	sched_list_insert(&queue, t, NULL);
}

static void lottery_dequeue(struct thread *t)
{
	total -= t->pv[0];
	sched_list_remove(&queue, t);
}

/* O(queued threads): fine for THREAD_MAX; a tree of sums would make it O(log n). */
static struct thread *lottery_pick(uint64_t now)
{
	if (!queue.head)
		return NULL;
	uint64_t win = libos_rand(&rng) % total;
	struct thread *t = queue.head;
	for (; win >= t->pv[0]; t = t->pnext)
		win -= t->pv[0];
	lottery_dequeue(t);
	return t;
}

static const struct sched_ops lottery = {
	.info = { .kind = POLICY_SCHED,
		  .name = "lottery",
		  .description = "lottery: each pick draws a ticket among the queued threads "
				 "(attr.tickets); shares converge to ticket ratios",
		  .params = { { "seed", 1,
				"seed of the ticket draws (non-zero); the same seed "
				"replays the same draws" } } },
	.init = lottery_init,
	.enqueue = lottery_enqueue,
	.dequeue = lottery_dequeue,
	.pick = lottery_pick,
};
POLICY_REGISTER(lottery);
