/*
 * MRU: the most recently used page goes. Wrong for most programs, right for
 * a loop over more pages than fit: LRU then faults on every page of every
 * pass, MRU keeps budget - 1 of them resident.
 */
#include <libos/pager_impl.h>

static struct vm_list q; /* least recent first */

static int mru_init(const uint64_t *params, unsigned budget)
{
	q = (struct vm_list){ 0 };
	return 0;
}

static void mru_added(struct vm_page *p, uint64_t now)
{
	vm_list_push_tail(&q, p);
}

static void mru_accessed(struct vm_page *p, uint64_t now)
{
	vm_list_remove(&q, p);
	vm_list_push_tail(&q, p);
}

static unsigned mru_victims(struct vm_page **out, unsigned want, uint64_t now)
{
	unsigned n = 0;
	for (struct vm_page *p = q.tail; p && n < want; p = p->pprev)
		out[n++] = p;
	return n;
}

static void mru_evicted(struct vm_page *p, uint64_t now)
{
	vm_list_remove(&q, p);
}

static const struct pager_ops mru = {
	.info = { .kind = POLICY_PAGER,
		  .name = "mru",
		  .description = "most recently used goes: for loops larger than memory" },
	.init = mru_init,
	.added = mru_added,
	.accessed = mru_accessed,
	.victims = mru_victims,
	.evicted = mru_evicted,
};
POLICY_REGISTER(mru);
