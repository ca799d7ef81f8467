/*
 * Exact LRU: a list in order of last reference, the least recent first.
 * Exact in trace mode (every reference is reported); in a running program
 * the accessed-bit scans only tell which pages were used since the last
 * scan, so there it is as good as its information.
 */
#include <libos/pager_impl.h>

static struct vm_list q;

static int lru_init(const uint64_t *params, unsigned budget)
{
	q = (struct vm_list){ 0 };
	return 0;
}

static void lru_added(struct vm_page *p, uint64_t now)
{
	vm_list_push_tail(&q, p);
}

static void lru_accessed(struct vm_page *p, uint64_t now)
{
	vm_list_remove(&q, p);
	vm_list_push_tail(&q, p);
}

static unsigned lru_victims(struct vm_page **out, unsigned want, uint64_t now)
{
	unsigned n = 0;
	for (struct vm_page *p = q.head; p && n < want; p = p->pnext)
		out[n++] = p;
	return n;
}

static void lru_evicted(struct vm_page *p, uint64_t now)
{
	vm_list_remove(&q, p);
}

static const struct pager_ops lru = {
	.info = { .kind = POLICY_PAGER,
		  .name = "lru",
		  .description = "exact least recently used (exact in trace mode)" },
	.init = lru_init,
	.added = lru_added,
	.accessed = lru_accessed,
	.victims = lru_victims,
	.evicted = lru_evicted,
};
POLICY_REGISTER(lru);
