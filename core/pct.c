/* Protected control transfer (see exo/pct.h). */
#include <arch/mm.h>
#include <exo/abi.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/pct.h>
#include <percpu.h>

static struct endpoint endpoints[MAX_ENDPOINTS];

struct arch_uctx *pct_ctx(struct env *e) { return e->serving ? &e->serving->ctx : &e->uctx; }

struct endpoint *ep_lookup(uint64_t id) { return id < MAX_ENDPOINTS ? &endpoints[id] : NULL; }

uint64_t ep_gen(uint64_t id)
{
	return id < MAX_ENDPOINTS ? __atomic_load_n(&endpoints[id].gen, __ATOMIC_ACQUIRE) : ~0ULL;
}

int ep_create(struct env *owner, uint64_t entry, uint64_t stack_top, uint32_t *id)
{
	for (uint32_t i = 0; i < MAX_ENDPOINTS; i++) {
		struct endpoint *ep = &endpoints[i];
		uint32_t expect = EP_FREE;
		if (!__atomic_compare_exchange_n(&ep->state, &expect, EP_LIVE, false, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		ep->owner = owner;
		ep->entry = entry;
		ep->stack_top = stack_top;
		ep->caller = NULL;
		*id = i;
		return E_OK;
	}
	return E_NOMEM;
}

void ep_delete(uint32_t id, uint64_t gen)
{
	struct endpoint *ep = ep_lookup(id);
	if (!ep || !__atomic_compare_exchange_n(&ep->gen, &gen, gen + 1, false, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
		return; /* deleted already */
	/* A call in progress finishes first; the reply frees it. */
	__atomic_store_n(&ep->state, ep->caller ? EP_DYING : EP_FREE, __ATOMIC_RELEASE);
}

void ep_release_env(struct env *e)
{
	for (uint32_t i = 0; i < MAX_ENDPOINTS; i++)
		if (endpoints[i].owner == e &&
		    __atomic_load_n(&endpoints[i].state, __ATOMIC_ACQUIRE) != EP_FREE)
			ep_delete(i, ep_gen(i)); /* capabilities to it go stale */
}

int pct_call(struct env *e, struct endpoint *ep, uint32_t badge, const uint64_t a[6],
	     struct arch_uctx *regs)
{
	struct env *y = ep->owner;
	if (__atomic_load_n(&ep->state, __ATOMIC_ACQUIRE) != EP_LIVE)
		return E_STALE;
	if (y->home != e->home)
		return E_INVAL; /* another core: cross-core notification is the channels' job */
	if (__atomic_load_n(&y->state, __ATOMIC_ACQUIRE) != ENV_RUNNABLE)
		return E_AGAIN;
	if (ep->caller || y->serving || y->calling || y == e)
		return E_BUSY;

	/* e blocks: its registers wait in its context, the result goes in at the reply. */
	*pct_ctx(e) = *regs;
	e->calling = ep;
	ep->caller = e;
	y->serving = ep;
	ep->ctx = (struct arch_uctx){
		.rip = ep->entry, .rsp = ep->stack_top - 8, .rflags = regs->rflags,
		.rax = (uint64_t)(ep - endpoints), .rdi = badge, .rsi = a[0], .rdx = a[1],
		.r10 = a[2], .r8 = a[3], .r9 = a[4], .r12 = a[5],
	};
	/* The fast path: the syscall returns into the callee, in the caller's slice. */
	this_cpu()->current = y;
	arch_aspace_activate(&y->as);
	*regs = ep->ctx;
	return E_OK;
}

/* Resume ep's caller with rax = result (and values r, if any), ending the call. */
static struct env *end_call(struct endpoint *ep, int64_t result, const uint64_t *r)
{
	struct env *x = ep->caller, *y = ep->owner;
	struct arch_uctx *xc = pct_ctx(x);
	xc->rax = (uint64_t)result;
	if (r) {
		xc->rsi = r[0];
		xc->rdx = r[1];
		xc->r10 = r[2];
		xc->r8 = r[3];
		xc->r9 = r[4];
		xc->r12 = r[5];
	}
	x->calling = NULL;
	y->serving = NULL;
	ep->caller = NULL;
	uint32_t dying = EP_DYING;
	__atomic_compare_exchange_n(&ep->state, &dying, EP_FREE, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_RELAXED);
	return x;
}

int pct_reply(struct env *e, const uint64_t r[6], struct arch_uctx *regs)
{
	struct endpoint *ep = e->serving;
	if (!ep)
		return E_NOENT;
	struct env *x = end_call(ep, E_OK, r);
	this_cpu()->current = x;
	arch_aspace_activate(&x->as);
	*regs = *pct_ctx(x);
	return E_OK;
}

void pct_abandon(struct env *e)
{
	if (e->serving)
		(void)end_call(e->serving, E_STALE, NULL);
}
