/*
 * Static priority: the highest eff_prio queued runs first; equals take
 * turns (FIFO). eff_prio is attr.prio raised by priority inheritance, so a
 * mutex owner with a high waiter runs at the waiter's level. One FIFO per
 * level and a bitmap of the non-empty levels: pick scans at most four
 * words, however many threads are queued.
 */
#include <libos/sched_impl.h>

#define LEVELS (THREAD_PRIO_MAX + 1)
#define WORDS (LEVELS / 64)

static struct sched_list level[LEVELS];
static uint64_t nonempty[WORDS]; /* bit p set: level[p] has a thread */

static int prio_init(const uint64_t *params)
{
	for (unsigned p = 0; p < LEVELS; p++)
		level[p] = (struct sched_list){ 0 };
	for (unsigned w = 0; w < WORDS; w++)
		nonempty[w] = 0;
	return 0;
}

/*
 * The framework changes eff_prio only off the queue (dequeue, change,
 * enqueue), but dequeue still uses the level remembered in pv[0] at
 * enqueue: a thread is found where it was put, whatever happened since.
 */
static void prio_enqueue(struct thread *t, uint64_t now)
{
	uint32_t p = MIN(t->eff_prio, (uint32_t)THREAD_PRIO_MAX);
	t->pv[0] = p;
	sched_list_insert(&level[p], t, NULL);
	nonempty[p / 64] |= 1ULL << (p % 64);
}

static void prio_dequeue(struct thread *t)
{
	uint64_t p = t->pv[0];
	sched_list_remove(&level[p], t);
	if (!level[p].head)
		nonempty[p / 64] &= ~(1ULL << (p % 64));
}

static struct thread *prio_pick(uint64_t now)
{
	for (unsigned w = WORDS; w-- > 0;) {
		if (!nonempty[w])
			continue;
		unsigned p = w * 64 + 63 - (unsigned)__builtin_clzll(nonempty[w]);
		struct thread *t = level[p].head;
		prio_dequeue(t);
		return t;
	}
	return NULL;
}

static const struct sched_ops prio = {
	.info = { .kind = POLICY_SCHED,
		  .name = "prio",
		  .description = "static priority on eff_prio (inheritance included): highest "
				 "first, FIFO among equals" },
	.init = prio_init,
	.enqueue = prio_enqueue,
	.dequeue = prio_dequeue,
	.pick = prio_pick,
};
POLICY_REGISTER(prio);
