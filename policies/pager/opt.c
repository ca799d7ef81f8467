/*
 * OPT (Belady's MIN): the page whose next use is farthest in the future
 * goes. Needs the future: a recorded reference trace (pager_trace, set by
 * the trace workload or memscan with vm_set_trace); without one it refuses
 * to start. The bound every other policy is measured against.
 */
#include <libos/pager_impl.h>

#define SEEN pv[0]  /* the choice (epoch) that last saw the page ahead */
#define IDS_MAX 512 /* the VM's pages at most */

static struct vm_list q;
static struct vm_page *by_id[IDS_MAX];
static uint64_t epoch;

static int opt_init(const uint64_t *params, unsigned budget)
{
	if (!pager_trace.refs)
		return E_NOTSUP; /* no future to look at */
	q = (struct vm_list){ 0 };
	for (unsigned i = 0; i < IDS_MAX; i++)
		by_id[i] = NULL;
	return 0;
}

static void opt_added(struct vm_page *p, uint64_t now)
{
	vm_list_push_tail(&q, p);
	if (p->id < IDS_MAX)
		by_id[p->id] = p;
}

/*
 * Walk the future until every resident page but one has been seen: that
 * one is used farthest ahead (or never). Ties among pages never used
 * again go to the one resident longest.
 */
static unsigned opt_victims(struct vm_page **out, unsigned want, uint64_t now)
{
	if (!q.head)
		return 0;
	epoch++;
	unsigned seen = 0;
	for (size_t i = pager_trace.pos + 1; i < pager_trace.n && seen + 1 < q.n; i++) {
		uint32_t id = pager_trace.refs[i];
		struct vm_page *p = id < IDS_MAX ? by_id[id] : NULL;
		if (p && p->SEEN != epoch) {
			p->SEEN = epoch;
			seen++;
		}
	}
	for (struct vm_page *p = q.head; p; p = p->pnext)
		if (p->SEEN != epoch) {
			out[0] = p;
			return 1;
		}
	out[0] = q.head;
	return 1;
}

static void opt_evicted(struct vm_page *p, uint64_t now)
{
	vm_list_remove(&q, p);
	if (p->id < IDS_MAX)
		by_id[p->id] = NULL;
}

static const struct pager_ops opt = {
	.info = { .kind = POLICY_PAGER,
		  .name = "opt",
		  .description =
		      "Belady's MIN: the page used farthest ahead goes (needs a trace)" },
	.init = opt_init,
	.added = opt_added,
	.victims = opt_victims,
	.evicted = opt_evicted,
};
POLICY_REGISTER(opt);
