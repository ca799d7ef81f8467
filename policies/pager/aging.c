/*
 * LRU approximated by aging (Tanenbaum's NFU with aging): each page has a
 * counter; at each choice every counter shifts right and takes the page's
 * reference bit (from the accessed-bit scans) at the top. The lowest
 * counter is the page least used lately. O(resident) per choice.
 */
#include <libos/pager_impl.h>

#define AGE pv[0]
#define REF pv[1]

static struct vm_list pages;
static unsigned bits;

static int aging_init(const uint64_t *params, unsigned budget)
{
	pages = (struct vm_list){ 0 };
	bits = (unsigned)params[0];
	return bits >= 1 && bits <= 63 ? 0 : E_INVAL;
}

static void aging_added(struct vm_page *p, uint64_t now)
{
	p->AGE = 1ULL << (bits - 1);
	p->REF = 0;
	vm_list_push_tail(&pages, p);
}

static void aging_accessed(struct vm_page *p, uint64_t now)
{
	p->REF = 1;
}

static unsigned aging_victims(struct vm_page **out, unsigned want, uint64_t now)
{
	struct vm_page *min = NULL;
	for (struct vm_page *p = pages.head; p; p = p->pnext) {
		p->AGE = (p->AGE >> 1) | (p->REF << (bits - 1));
		p->REF = 0;
		if (!min || p->AGE < min->AGE)
			min = p; /* first of the lowest: the oldest of them */
	}
	if (!min)
		return 0;
	out[0] = min;
	return 1;
}

static void aging_evicted(struct vm_page *p, uint64_t now)
{
	vm_list_remove(&pages, p);
}

static const struct pager_ops aging = {
	.info = { .kind = POLICY_PAGER,
		  .name = "aging",
		  .description = "LRU approximated by aging counters fed by the accessed bits",
		  .params = { { "bits", 8, "width of the age counter (1..63)" } } },
	.init = aging_init,
	.added = aging_added,
	.accessed = aging_accessed,
	.victims = aging_victims,
	.evicted = aging_evicted,
};
POLICY_REGISTER(aging);
