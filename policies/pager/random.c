/* Random: any resident page, uniformly; the baseline no policy should lose to. */
#include <libos/pager_impl.h>

#define IDX pv[0]
#define RESIDENT_MAX 512 /* the framework's pages at most (VM_PAGES_MAX in vm.c) */

static struct vm_page *set[RESIDENT_MAX];
static unsigned n;
static uint64_t seed;

static int random_init(const uint64_t *params, unsigned budget)
{
	n = 0;
	seed = params[0];
	return 0;
}

static void random_added(struct vm_page *p, uint64_t now)
{
	p->IDX = n;
	set[n++] = p; /* never more than RESIDENT_MAX */
}

static unsigned random_victims(struct vm_page **out, unsigned want, uint64_t now)
{
	if (!n)
		return 0;
	out[0] = set[pager_rand(&seed) % n];
	return 1;
}

static void random_evicted(struct vm_page *p, uint64_t now)
{
	struct vm_page *last = set[--n];
	set[p->IDX] = last;
	last->IDX = p->IDX;
}

static const struct pager_ops random_ops = {
	.info = { .kind = POLICY_PAGER,
		  .name = "random",
		  .description = "a resident page chosen uniformly at random",
		  .params = { { "seed", 1, "the random generator's seed" } } },
	.init = random_init,
	.added = random_added,
	.victims = random_victims,
	.evicted = random_evicted,
};
POLICY_REGISTER(random_ops);
