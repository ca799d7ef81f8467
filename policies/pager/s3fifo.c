/*
 * S3-FIFO (Yang et al., SOSP'23): three FIFO queues. New pages enter a
 * small queue S (small_pct of the budget); leaving S, a page used more
 * than once moves to the main queue M, others are evicted and remembered
 * in a ghost queue G. A page faulted while in G goes straight to M. M is
 * a CLOCK with a 2-bit use counter. Quick demotion of one-hit pages.
 */
#include <libos/pager_impl.h>

#define WHERE pv[0]
#define FREQ pv[1]
enum { NONE = 0, S, M, G };

static struct vm_list sq, mq, gq;
static unsigned s_cap, g_cap;

static int s3_init(const uint64_t *params, unsigned budget)
{
	sq = mq = gq = (struct vm_list){ 0 };
	if (params[0] > 100)
		return E_INVAL;
	s_cap = (unsigned)(budget * params[0] / 100);
	s_cap = s_cap ? s_cap : 1;
	g_cap = budget > s_cap ? budget - s_cap : 1;
	return 0;
}

static void s3_added(struct vm_page *p, uint64_t now)
{
	p->FREQ = 0;
	if (p->WHERE == G) {
		vm_list_remove(&gq, p);
		p->WHERE = M;
		vm_list_push_tail(&mq, p);
	} else {
		p->WHERE = S;
		vm_list_push_tail(&sq, p);
	}
}

static void s3_accessed(struct vm_page *p, uint64_t now)
{
	if (p->FREQ < 3)
		p->FREQ++;
}

/* Ends: each turn moves a page from S to M for good, or lowers a counter. */
static unsigned s3_victims(struct vm_page **out, unsigned want, uint64_t now)
{
	for (;;) {
		if (sq.head && (sq.n >= s_cap || !mq.head)) {
			struct vm_page *t = sq.head;
			if (t->FREQ > 1 && mq.head) {
				vm_list_remove(&sq, t);
				t->WHERE = M;
				t->FREQ = 0;
				vm_list_push_tail(&mq, t);
				continue;
			}
			out[0] = t;
			return 1;
		}
		struct vm_page *t = mq.head;
		if (!t)
			return 0;
		if (t->FREQ) {
			t->FREQ--;
			vm_list_remove(&mq, t);
			vm_list_push_tail(&mq, t);
			continue;
		}
		out[0] = t;
		return 1;
	}
}

static void s3_evicted(struct vm_page *p, uint64_t now)
{
	if (p->WHERE == M) {
		vm_list_remove(&mq, p);
		p->WHERE = NONE;
		return;
	}
	vm_list_remove(&sq, p);
	p->WHERE = G;
	vm_list_push_tail(&gq, p);
	if (gq.n > g_cap)
		vm_list_pop_head(&gq)->WHERE = NONE;
}

static const struct pager_ops s3fifo = {
	.info = { .kind = POLICY_PAGER,
		  .name = "s3fifo",
		  .description =
		      "S3-FIFO: small, main and ghost FIFO queues; one-hit pages leave early",
		  .params = { { "small_pct", 10, "the small queue's share of the budget (%)" } } },
	.init = s3_init,
	.added = s3_added,
	.accessed = s3_accessed,
	.victims = s3_victims,
	.evicted = s3_evicted,
};
POLICY_REGISTER(s3fifo);
