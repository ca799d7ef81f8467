/*
 * FIFO: the page resident longest goes first, whatever its use. The
 * textbook baseline, and the one that shows Belady's anomaly (more frames,
 * more faults: 1,2,3,4,1,2,5,1,2,3,4,5 faults 9 times in 3 frames, 10 in 4).
 */
#include <libos/pager_impl.h>

static struct vm_list q;

static int fifo_init(const uint64_t *params, unsigned budget)
{
	q = (struct vm_list){ 0 };
	return 0;
}

static void fifo_added(struct vm_page *p, uint64_t now)
{
	vm_list_push_tail(&q, p);
}

static unsigned fifo_victims(struct vm_page **out, unsigned want, uint64_t now)
{
	unsigned n = 0;
	for (struct vm_page *p = q.head; p && n < want; p = p->pnext)
		out[n++] = p;
	return n;
}

static void fifo_evicted(struct vm_page *p, uint64_t now)
{
	vm_list_remove(&q, p);
}

static const struct pager_ops fifo = {
	.info = { .kind = POLICY_PAGER,
		  .name = "fifo",
		  .description = "first in, first out: the oldest resident page goes" },
	.init = fifo_init,
	.added = fifo_added,
	.victims = fifo_victims,
	.evicted = fifo_evicted,
};
POLICY_REGISTER(fifo);
