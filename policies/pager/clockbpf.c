/*
 * clockbpf: CLOCK (clock.c) for the VM's own evictions, with a downloaded
 * victim chooser for revocations (clockbpf.bpf.c, at BPF_HOOK_REVOKE): the
 * framework loads it when this policy is chosen, over a region in which
 * the VM keeps the list of its clean resident frames (pager_impl.h struct
 * pager_clean_list); at a revocation request the kernel runs it and it
 * gives back clean frames, oldest listed first, with no upcall. The VM
 * finds them gone at its next entry (vm_stats part_given) and refetches
 * their pages at the next touch. Without the part (refused, or on the
 * host), it is CLOCK.
 */
#include <libos/bpf.h>
#include <libos/pager_impl.h>

#define REF pv[0]

#ifdef EXO_USER
BPF_OBJECT(clockbpf);
static void clockbpf_fill(void *region)
{
	((struct pager_clean_list *)region)->n = 0; /* the VM fills it */
}
static const struct policy_bpf clockbpf_part = {
	.hook = BPF_HOOK_REVOKE,
	.image = bpf_obj_clockbpf,
	.size = &bpf_obj_clockbpf_size,
	.fill = clockbpf_fill,
};
#define CLOCKBPF_PART (&clockbpf_part)
#else
#define CLOCKBPF_PART NULL /* host tests: no downloaded code */
#endif

static struct vm_list ring;
static struct vm_page *hand;

static int clockbpf_init(const uint64_t *params, unsigned budget)
{
	ring = (struct vm_list){ 0 };
	hand = NULL;
	return 0;
}

/* A new page goes just behind the hand: the last the hand reaches. */
static void clockbpf_added(struct vm_page *p, uint64_t now)
{
	p->REF = 1; /* the access that faulted it in */
	if (!hand) {
		vm_list_push_tail(&ring, p);
		return;
	}
	p->pnext = hand;
	p->pprev = hand->pprev;
	if (hand->pprev)
		hand->pprev->pnext = p;
	else
		ring.head = p;
	hand->pprev = p;
	ring.n++;
}

static void clockbpf_accessed(struct vm_page *p, uint64_t now)
{
	p->REF = 1;
}

static struct vm_page *next(struct vm_page *p)
{
	return p->pnext ? p->pnext : ring.head;
}

static unsigned clockbpf_victims(struct vm_page **out, unsigned want, uint64_t now)
{
	if (!ring.head)
		return 0;
	if (!hand)
		hand = ring.head;
	while (hand->REF) { /* ends: each pass clears a bit */
		hand->REF = 0;
		hand = next(hand);
	}
	out[0] = hand;
	return 1;
}

static void clockbpf_evicted(struct vm_page *p, uint64_t now)
{
	if (hand == p)
		hand = ring.n > 1 ? next(p) : NULL;
	vm_list_remove(&ring, p);
}

static const struct pager_ops clockbpf_ops = {
	.info = { .kind = POLICY_PAGER,
		  .name = "clockbpf",
		  .description =
		      "clock, and a downloaded chooser that gives clean frames at a revocation",
		  .bpf = CLOCKBPF_PART },
	.init = clockbpf_init,
	.added = clockbpf_added,
	.accessed = clockbpf_accessed,
	.victims = clockbpf_victims,
	.evicted = clockbpf_evicted,
	.clean_list = true,
};
POLICY_REGISTER(clockbpf_ops);
