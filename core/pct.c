/* Protected control transfer (see exo/pct.h). */
#include <arch/mm.h>
#include <exo/abi.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/obj.h>
#include <exo/pct.h>
#include <percpu.h>

static struct endpoint endpoints[MAX_ENDPOINTS];

#define SG(gen, state) ((gen) << 2 | (state))
#define SG_STATE(w) ((unsigned)((w)&3))
#define SG_GEN(w) ((w) >> 2)

static uint64_t sg_load(struct endpoint *ep) { return __atomic_load_n(&ep->sg, __ATOMIC_ACQUIRE); }

/* *old is written on failure (the callers loop on it): not const. */
// NOLINTNEXTLINE(readability-non-const-parameter)
static bool sg_cas(struct endpoint *ep, uint64_t *old, uint64_t new)
{
	return __atomic_compare_exchange_n(&ep->sg, old, new, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_ACQUIRE);
}

struct arch_uctx *pct_ctx(struct env *e) { return e->serving ? &e->serving->ctx : &e->uctx; }

struct endpoint *ep_lookup(uint64_t id) { return id < MAX_ENDPOINTS ? &endpoints[id] : NULL; }

uint64_t ep_gen(uint64_t id) { return id < MAX_ENDPOINTS ? SG_GEN(sg_load(&endpoints[id])) : ~0ULL; }

int ep_create(struct env *owner, uint64_t owner_gen, uint64_t entry, uint64_t stack_top,
	      uint32_t *id, uint64_t *gen)
{
	for (uint32_t i = 0; i < MAX_ENDPOINTS; i++) {
		struct endpoint *ep = &endpoints[i];
		uint64_t w = sg_load(ep);
		/* Claim it (DYING: not callable, not deletable) while the fields are filled. */
		if (SG_STATE(w) != EP_FREE || !sg_cas(ep, &w, SG(SG_GEN(w), EP_DYING)))
			continue;
		/* Charged to the environment its calls run in (and its ancestors); ep_delete uncharges. */
		if (quota_charge(owner, QUOTA_ENDPOINTS, 1) != E_OK) {
			__atomic_store_n(&ep->sg, SG(SG_GEN(w), EP_FREE), __ATOMIC_SEQ_CST);
			return E_NOMEM;
		}
		ep->owner = owner;
		ep->entry = entry;
		ep->stack_top = stack_top;
		ep->caller = NULL;
		__atomic_store_n(&ep->sg, SG(SG_GEN(w), EP_LIVE), __ATOMIC_SEQ_CST);
		/* Published: a destroy of owner from now on finds it; one before, we see here. */
		if (!env_alive(owner) || __atomic_load_n(&owner->gen, __ATOMIC_SEQ_CST) != owner_gen) {
			ep_delete(i, SG_GEN(w));
			return E_STALE;
		}
		*id = i;
		*gen = SG_GEN(w);
		return E_OK;
	}
	return E_NOMEM;
}

void ep_delete(uint32_t id, uint64_t gen)
{
	struct endpoint *ep = ep_lookup(id);
	if (!ep)
		return;
	/* Fixed while live at gen; a CAS below at gen proves it was still that one. */
	struct env *owner = ep->owner;
	for (uint64_t w = sg_load(ep); SG_GEN(w) == gen;) {
		unsigned st = SG_STATE(w);
		if (st == EP_LIVE && sg_cas(ep, &w, SG(gen + 1, EP_FREE))) {
			quota_uncharge(owner, QUOTA_ENDPOINTS, 1);
			return;
		}
		/* Busy: the call finishes first; its end frees it. */
		if (st == EP_BUSY && sg_cas(ep, &w, SG(gen + 1, EP_DYING))) {
			quota_uncharge(owner, QUOTA_ENDPOINTS, 1);
			return;
		}
		if (st != EP_LIVE && st != EP_BUSY)
			return; /* free, or claimed and not yet live */
	}
}

void ep_release_env(struct env *e)
{
	for (uint32_t i = 0; i < MAX_ENDPOINTS; i++) {
		uint64_t w = sg_load(&endpoints[i]);
		unsigned st = SG_STATE(w);
		if ((st == EP_LIVE || st == EP_BUSY) && endpoints[i].owner == e)
			ep_delete(i, SG_GEN(w)); /* capabilities to it go stale */
	}
}

int pct_call(struct env *e, struct endpoint *ep, uint64_t gen, uint32_t badge, const uint64_t a[6],
	     struct arch_uctx *regs)
{
	uint64_t w = sg_load(ep);
	if (SG_GEN(w) != gen || SG_STATE(w) == EP_FREE || SG_STATE(w) == EP_DYING)
		return E_STALE;
	if (SG_STATE(w) == EP_BUSY)
		return E_BUSY;
	struct env *y = ep->owner; /* fixed while the endpoint is live at gen */
	if (y->home != e->home)
		return E_INVAL; /* another core: cross-core notification is the channels' job */
	if (__atomic_load_n(&y->state, __ATOMIC_ACQUIRE) != ENV_RUNNABLE)
		return E_AGAIN;
	if (y->serving || y->calling || y == e)
		return E_BUSY;
	/* Take it: LIVE -> BUSY at the capability's generation, or fail as it changed. */
	if (!sg_cas(ep, &w, SG(gen, EP_BUSY)))
		return SG_GEN(w) != gen ? E_STALE : E_BUSY;

	/* e blocks: its registers wait in its context, the result goes in at the reply. */
	*pct_ctx(e) = *regs;
	e->calling = ep;
	ep->caller = e;
	y->serving = ep;
	/* The callee starts fresh at the entry: endpoint id as the result, badge, a0..a5. */
	const uint64_t v[ARCH_UCTX_NARGS] = { badge, a[0], a[1], a[2], a[3], a[4], a[5] };
	arch_uctx_init_call(&ep->ctx, ep->entry, ep->stack_top - 8, (uint64_t)(ep - endpoints), v);
	/* The fast path: the syscall returns into the callee, in the caller's slice. */
	arch_fpu_save(&e->fpu);
	arch_fpu_restore(&y->fpu);
	this_cpu()->current = y;
	arch_aspace_activate(&y->as);
	*regs = ep->ctx;
	return E_OK;
}

/* Resume ep's caller with result (and values r, if any), ending the call. */
static struct env *end_call(struct endpoint *ep, int64_t result, const uint64_t *r)
{
	struct env *x = ep->caller, *y = ep->owner;
	struct arch_uctx *xc = pct_ctx(x);
	arch_uctx_set_ret(xc, (uint64_t)result);
	if (r)
		for (unsigned i = 0; i < 6; i++)
			arch_uctx_set_arg(xc, i + 1, r[i]);
	x->calling = NULL;
	y->serving = NULL;
	ep->caller = NULL;
	/* BUSY -> LIVE; deleted meanwhile (DYING at the next generation) -> FREE. */
	uint64_t w = sg_load(ep);
	while (!sg_cas(ep, &w, SG(SG_GEN(w), SG_STATE(w) == EP_BUSY ? EP_LIVE : EP_FREE)))
		;
	return x;
}

int pct_reply(struct env *e, const uint64_t r[6], struct arch_uctx *regs)
{
	struct endpoint *ep = e->serving;
	if (!ep)
		return E_NOENT;
	struct env *x = end_call(ep, E_OK, r);
	arch_fpu_save(&e->fpu);
	arch_fpu_restore(&x->fpu);
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

/* The object-type table's row for endpoints (exo/obj.h): the root's deletion deletes it. */
static void endpoint_root_deleted(struct env *owner, uint64_t obj, uint64_t gen)
{
	ep_delete((uint32_t)obj, gen); /* nothing if deleted already */
}

const struct obj_ops endpoint_obj_ops = {
	.name = "endpoint",
	.gen = ep_gen,
	.root_deleted = endpoint_root_deleted,
};
