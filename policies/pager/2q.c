/*
 * 2Q (Johnson and Shasha, VLDB'94), the full version: a page seen once
 * waits in A1in (FIFO, kin of the budget); evicted from there it is
 * remembered (not its data) in the ghost list A1out (kout of the budget);
 * a page faulted again while remembered has proved itself and goes to Am
 * (LRU). A scan then passes through A1in without flushing Am.
 */
#include <libos/pager_impl.h>

#define WHERE pv[0] /* which list the page is on */
enum { NONE = 0, A1IN, AM, A1OUT };

static struct vm_list a1in, am, a1out;
static unsigned kin, kout;

static int twoq_init(const uint64_t *params, unsigned budget)
{
	a1in = am = a1out = (struct vm_list){ 0 };
	if (params[0] > 100 || params[1] > 1000)
		return E_INVAL;
	kin = (unsigned)(budget * params[0] / 100);
	kout = (unsigned)(budget * params[1] / 100);
	kin = kin ? kin : 1;
	return 0;
}

static void twoq_added(struct vm_page *p, uint64_t now)
{
	if (p->WHERE == A1OUT) {
		vm_list_remove(&a1out, p);
		p->WHERE = AM;
		vm_list_push_tail(&am, p);
	} else {
		p->WHERE = A1IN;
		vm_list_push_tail(&a1in, p);
	}
}

static void twoq_accessed(struct vm_page *p, uint64_t now)
{
	if (p->WHERE == AM) {
		vm_list_remove(&am, p);
		vm_list_push_tail(&am, p);
	}
}

static unsigned twoq_victims(struct vm_page **out, unsigned want, uint64_t now)
{
	struct vm_page *v = (a1in.n > kin || !am.head) ? a1in.head : am.head;
	if (!v)
		v = am.head;
	if (!v)
		return 0;
	out[0] = v;
	return 1;
}

static void twoq_evicted(struct vm_page *p, uint64_t now)
{
	if (p->WHERE == AM) {
		vm_list_remove(&am, p);
		p->WHERE = NONE;
		return;
	}
	vm_list_remove(&a1in, p);
	p->WHERE = A1OUT;
	vm_list_push_tail(&a1out, p);
	if (a1out.n > kout)
		vm_list_pop_head(&a1out)->WHERE = NONE;
}

static const struct pager_ops twoq = {
	.info = { .kind = POLICY_PAGER,
		  .name = "2q",
		  .description =
		      "2Q: a FIFO probation queue, a ghost list, and LRU for proven pages",
		  .params = { { "kin_pct", 25, "A1in's share of the budget (%)" },
			      { "kout_pct", 50,
				"pages the ghost list A1out remembers (% of budget)" } } },
	.init = twoq_init,
	.added = twoq_added,
	.accessed = twoq_accessed,
	.victims = twoq_victims,
	.evicted = twoq_evicted,
};
POLICY_REGISTER(twoq);
