/*
 * What a pager policy implements (policies/pager/<name>.c). The program's
 * side is <libos/vm.h>; docs/paging.md walks through a whole policy.
 *
 * The VM manager (libos-framework/vm.c) owns the pages (struct vm_page):
 * one per virtual page of every region, for the program's whole life,
 * resident or not. The policy is told when a page becomes resident (added),
 * when it was referenced (accessed), and when it leaves memory (evicted);
 * it is asked to choose victims among the resident pages it was given.
 * The hooks are the shape cache_ext (SOSP'25) converged on for Linux's page
 * cache: folio added / accessed / evicted, evict folios. Like cache_ext,
 * the VM checks every victim: a page that is not resident, not this VM's,
 * or returned twice ends the environment with a message naming the policy.
 *
 * Hooks run one at a time (in the fault handler or the revocation upcall)
 * and call no system call, so the same file builds into the host tests
 * (tests/host/pager_test.c).
 */
#pragma once

#include <exo/abi.h>
#include <libos/policy.h>

enum vm_page_flags {
	VMP_RESIDENT = 1u << 0, /* holds a frame, mapped at va */
	VMP_DIRTY = 1u << 1,	/* mapped writable: may differ from its swap copy */
	VMP_SWAPPED = 1u << 2,	/* its contents are on swap (else it is zero) */
	VMP_LOST = 1u << 3,	/* dirty and taken by force: the next access ends the program */
	VMP_CHOSEN = 1u << 4,	/* in the victim list being checked (framework only) */
	VMP_TAKEN = 1u << 5,	/* clean and taken by force: the next fault refetches it */
};

struct vm_page {
	/* Framework: read-only to policies. */
	uint64_t va;	/* its address (trace mode: the base plus page number * 4 KiB) */
	uint32_t id;	/* its index among every page of the VM (0..vm_pages()) */
	uint16_t flags; /* enum vm_page_flags */
	int16_t slot;	/* the frame capability while resident, else -1 */

	/*
	 * Policy: free for the policy of the moment (zeroed when a page is
	 * handed to a new policy). They keep their values after evicted, so
	 * a policy may keep non-resident pages on a ghost list.
	 */
	struct vm_page *pnext, *pprev;
	uint64_t pv[3];
};

struct pager_ops {
	struct policy_info info; /* .kind = POLICY_PAGER */
	/*
	 * Start empty with the parameters (params[i] is info.params[i]'s value)
	 * and the frame budget (may change later: victims is simply asked more
	 * often). Forget every earlier page: after a swap the VM hands over
	 * the resident pages with added. 0, or a negative error to refuse.
	 */
	int (*init)(const uint64_t *params, unsigned budget);
	/* p became resident (a fault filled it). */
	void (*added)(struct vm_page *p, uint64_t now);
	/*
	 * p was referenced while resident: at each reference in trace mode
	 * (exact), else when a scan of the accessed bits found it set.
	 * Optional: a policy without it needs no scans (FIFO, random, OPT).
	 */
	void (*accessed)(struct vm_page *p, uint64_t now);
	/*
	 * Choose up to want (>= 1) resident pages to evict, into out[]; return
	 * how many (at least one while any page is resident). The pages stay
	 * the policy's until evicted is called for each.
	 */
	unsigned (*victims)(struct vm_page **out, unsigned want, uint64_t now);
	/* p left memory (chosen, revoked or taken by force): take it off the policy's lists. */
	void (*evicted)(struct vm_page *p, uint64_t now);
	/*
	 * Optional: the kernel asks for want frames back before deadline
	 * (cycles); choose them like victims. Without it, victims is asked.
	 */
	unsigned (*revoke)(struct vm_page **out, unsigned want, uint64_t deadline);
	/* Optional: the policy is being swapped out (its pages were drained through evicted). */
	void (*fini)(void);
	/*
	 * Its downloaded part (info.bpf, a revocation handler) reads the VM's
	 * list of clean resident frames (struct pager_clean_list) in its
	 * region, and may give any of them back with revoke_give.
	 */
	bool clean_list;
};

/*
 * The clean list a pager's downloaded victim chooser reads (its region).
 * The contract: the VM lists a resident page's frame only while its
 * contents equal its swap copy (or zero) — it is mapped read-only, and
 * the VM takes it off the list before mapping it writable, evicting it or
 * freeing it — so any frame listed may be given back at any instant with
 * nothing lost. The VM finds the frames given (their capability slots
 * emptied by the kernel) at its next entry and after each allocation, and
 * treats their pages as taken while clean: refetched at the next touch.
 * Oldest listed first (a removal moves the last entry into the hole).
 */
#define PAGER_CLEAN_MAX 500
struct pager_clean_list {
	uint64_t n;			 /* entries in frame[] */
	uint64_t frame[PAGER_CLEAN_MAX]; /* frame numbers */
};

/* The default pager policy, and what a program runs when it chose none. */
#define PAGER_DEFAULT "clock"

/*
 * A recorded reference trace (page numbers), for policies that look ahead
 * (OPT). The trace workload and memscan set it with vm_set_trace and
 * advance pos as they go; NULL refs: none (OPT then refuses to start).
 */
struct pager_trace {
	const uint32_t *refs; /* page ids (struct vm_page.id) in reference order */
	size_t n;
	size_t pos; /* the reference being made now */
};
extern struct pager_trace pager_trace;

/* Doubly linked lists of pages through pnext/pprev, for policies. */
struct vm_list {
	struct vm_page *head, *tail;
	unsigned n;
};

static inline void vm_list_push_tail(struct vm_list *l, struct vm_page *p)
{
	p->pnext = NULL;
	p->pprev = l->tail;
	if (l->tail)
		l->tail->pnext = p;
	else
		l->head = p;
	l->tail = p;
	l->n++;
}

static inline void vm_list_remove(struct vm_list *l, struct vm_page *p)
{
	if (p->pprev)
		p->pprev->pnext = p->pnext;
	else
		l->head = p->pnext;
	if (p->pnext)
		p->pnext->pprev = p->pprev;
	else
		l->tail = p->pprev;
	p->pnext = p->pprev = NULL;
	l->n--;
}

static inline struct vm_page *vm_list_pop_head(struct vm_list *l)
{
	struct vm_page *p = l->head;
	if (p)
		vm_list_remove(l, p);
	return p;
}

/* The pager's pseudo-random numbers (xorshift64*), seeded by the policy. */
static inline uint64_t pager_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}
