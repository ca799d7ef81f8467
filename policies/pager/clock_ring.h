/*
 * CLOCK's ring and hand, shared by the policies built on it (clock.c, and
 * clockbpf.c, which adds a downloaded victim chooser for revocations).
 * Each including file gets its own state: these are static.
 */
#pragma once

#include <libos/pager_impl.h>

#define REF pv[0]

static struct vm_list ring;
static struct vm_page *hand;

static int clock_init(const uint64_t *params, unsigned budget)
{
	ring = (struct vm_list){ 0 };
	hand = NULL;
	return 0;
}

/* A new page goes just behind the hand: the last the hand reaches. */
static void clock_added(struct vm_page *p, uint64_t now)
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

static void clock_accessed(struct vm_page *p, uint64_t now)
{
	p->REF = 1;
}

static struct vm_page *next(struct vm_page *p)
{
	return p->pnext ? p->pnext : ring.head;
}

static unsigned clock_victims(struct vm_page **out, unsigned want, uint64_t now)
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

static void clock_evicted(struct vm_page *p, uint64_t now)
{
	if (hand == p)
		hand = ring.n > 1 ? next(p) : NULL;
	vm_list_remove(&ring, p);
}
