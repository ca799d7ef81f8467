/*
 * Comparing the reference model with the kernel (model.h, model_impl.h):
 * what a capability looks like to CAP_INSPECT, and model_check, which walks
 * the environments, frames, time slots and endpoints through struct
 * model_kernel and names the first difference.
 */
#include "model_impl.h"

#include <stdarg.h>
#include <stdio.h>

/* ---- what a capability looks like to CAP_INSPECT ---- */

void model_info_of(const struct model *m, uint32_t env, uint32_t slot, struct cap_info *i,
		   unsigned children)
{
	const struct mcap *c = &m->env[env].caps[slot];
	memset(i, 0, sizeof(*i));
	i->type = c->type;
	i->rights = c->rights;
	i->badge = c->badge;
	i->object = c->obj;
	i->gen = c->gen;
	i->parent_env = c->root ? CAP_NO_SLOT : c->penv;
	i->parent_slot = c->root ? CAP_NO_SLOT : c->pslot;
	i->depth = c->depth;
	i->children = children;
	i->bound_va = c->va;
}

/* Do two cap_infos agree? If not, why says which field (unless why is NULL). */
bool model_info_same(const struct cap_info *k, const struct cap_info *w, char *why, size_t n,
		     const char *where)
{
#define FIELD(f)                                                                                   \
	if (k->f != w->f) {                                                                        \
		if (why)                                                                           \
			(void)snprintf(                                                            \
			    why, n, "%s: " #f " is %llu (0x%llx), the model says %llu (0x%llx)",   \
			    where, (unsigned long long)k->f, (unsigned long long)k->f,             \
			    (unsigned long long)w->f, (unsigned long long)w->f);                   \
		return false;                                                                      \
	}
	FIELD(type)
	FIELD(object)
	FIELD(rights)
	FIELD(badge)
	FIELD(gen)
	FIELD(parent_env)
	FIELD(parent_slot)
	FIELD(depth)
	FIELD(children)
	FIELD(bound_va)
#undef FIELD
	return true;
}

bool model_differ(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): false positive, llvm-project#40656 */
	(void)vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return false;
}

/* Children of every capability of the live environments, in one pass. */
static void tally_children(struct model *m)
{
	for_each_live(m, i)
		memset(m->children[i], 0, sizeof(m->children[i]));
	for_each_live(m, i) {
		for (uint32_t s = 0; s < m->env[i].top; s++) {
			const struct mcap *c = &m->env[i].caps[s];
			if (c->type && !c->root && c->penv < MODEL_ENVS && m->env[c->penv].live)
				m->children[c->penv][c->pslot]++;
		}
	}
}

static bool check_env(struct model *m, uint32_t id, char *why, size_t n)
{
	const struct model_kernel *k = &m->k;
	const struct menv *e = &m->env[id];
	uint64_t bound = 0;
	static uint8_t used[MODEL_SLOTS];
	k->slots_used(k->ctx, id, used);
	/* Past the model's top it has no capability: the kernel must have none either. */
	for (uint32_t s = e->top; s < MODEL_SLOTS; s++) {
		struct cap_info got;
		if (used[s] && k->inspect(k->ctx, id, s, &got) == 0)
			return model_differ(
			    why, n,
			    "env %u slot %u: the kernel has a capability, the model "
			    "none",
			    id, s);
	}
	for (uint32_t s = 0; s < e->top; s++) {
		bool mine = e->caps[s].type != OBJ_NONE, theirs = used[s];
		if (!mine && !theirs)
			continue;
		struct cap_info got, want;
		if (k->inspect(k->ctx, id, s, &got) != 0)
			theirs = false;
		if (mine != theirs)
			return model_differ(
			    why, n, "env %u slot %u: the kernel has %s, the model %s", id, s,
			    theirs ? "a capability" : "none", mine ? "a capability" : "none");
		model_info_of(m, id, s, &want, m->children[id][s]);
		if (!model_info_same(&got, &want, NULL, 0, NULL)) {
			char where[48]; /* named only when it is needed: this runs for every slot */
			(void)snprintf(where, sizeof(where), "env %u slot %u", id, s);
			return model_info_same(&got, &want, why, n, where);
		}
		if (!e->caps[s].va)
			continue;
		/* The binding is a mapping in the environment's page tables. */
		bound++;
		uint64_t frame;
		unsigned prot;
		if (k->query(k->ctx, id, e->caps[s].va, &frame, &prot) != 0)
			return model_differ(why, n,
					    "env %u slot %u: bound at 0x%llx, which is not mapped",
					    id, s, (unsigned long long)e->caps[s].va);
		unsigned want_prot =
		    1 | (e->caps[s].prot & PROT_W ? 2 : 0) | (e->caps[s].prot & PROT_X ? 4 : 0);
		if (frame != e->caps[s].obj || (prot & 7) != want_prot)
			return model_differ(
			    why, n,
			    "env %u slot %u: 0x%llx maps frame %llu prot %u, the model says "
			    "frame %llu prot %u",
			    id, s, (unsigned long long)e->caps[s].va, (unsigned long long)frame,
			    prot & 7, (unsigned long long)e->caps[s].obj, want_prot);
	}
	uint64_t maps = k->mappings(k->ctx, id);
	if (maps != bound)
		return model_differ(why, n, "env %u has %llu mappings, the model %llu bindings", id,
				    (unsigned long long)maps, (unsigned long long)bound);
	static struct model_env_extra x;
	k->env_extra(k->ctx, id, &x);
	/* Disk completions come when the device says: those bits may or may not be there. */
	uint64_t got = x.notify & NOTIFY_BITS;
	if (x.guarantee != e->guarantee || (got & ~e->notify_maybe) != e->notify ||
	    (e->notify & ~got) || x.nreposs != e->nreposs)
		return model_differ(
		    why, n,
		    "env %u: guarantee %llu, notifications 0x%llx, %u frames repossessed; "
		    "the model says %llu, 0x%llx, %u",
		    id, (unsigned long long)x.guarantee, (unsigned long long)x.notify, x.nreposs,
		    (unsigned long long)e->guarantee, (unsigned long long)e->notify, e->nreposs);
	return true;
}

bool model_check(struct model *m, bool full, char *why, size_t n)
{
	const struct model_kernel *k = &m->k;
	tally_children(m);
	/* Every id, or those that lived in this run (env_count() catches any other). */
	unsigned nenv = full ? MODEL_ENVS : m->nenv_used, nep = full ? MODEL_EPS : m->nep_used;
	for (uint32_t x = 0; x < nenv; x++) {
		uint32_t id = full ? x : m->env_used[x];
		uint64_t gen;
		unsigned home;
		bool alive = k->env(k->ctx, id, &gen, &home);
		const struct menv *e = &m->env[id];
		if (alive != e->live)
			return model_differ(why, n, "env %u is %s, the model says %s", id,
					    alive ? "alive" : "gone", e->live ? "alive" : "gone");
		if (gen != e->gen)
			return model_differ(why, n, "env %u has generation %llu, the model %llu",
					    id, (unsigned long long)gen,
					    (unsigned long long)e->gen);
		if (alive && home != e->home)
			return model_differ(why, n, "env %u is homed on core %u, the model says %u",
					    id, home, e->home);
		if (alive && !check_env(m, id, why, n))
			return false;
	}
	if (k->env_count(k->ctx) != model_live_envs(m))
		return model_differ(why, n, "%u environments exist, the model has %u",
				    k->env_count(k->ctx), model_live_envs(m));
	for (uint64_t f = 0; f < m->cfg.nframes; f++) {
		uint32_t owner;
		uint64_t gen;
		enum model_frame st = k->frame(k->ctx, f, &owner, &gen);
		const struct mframe *mf = &m->frame[f];
		if (f < m->cfg.kernel_frames || mf->fixed) {
			if (st != MF_KERNEL || owner != MODEL_NONE)
				return model_differ(why, n,
						    "frame %llu of the kernel changed hands",
						    (unsigned long long)f);
		} else if (mf->owner != MODEL_NONE) {
			if (st != MF_OWNED || owner != mf->owner || gen != mf->gen)
				return model_differ(
				    why, n,
				    "frame %llu: state %d owner %u gen %llu; the model says "
				    "owned by %u gen %llu",
				    (unsigned long long)f, st, owner, (unsigned long long)gen,
				    mf->owner, (unsigned long long)mf->gen);
		} else if (st != MF_FREE && st != MF_KERNEL) {
			return model_differ(
			    why, n, "frame %llu is in state %d (owner %u), the model says free",
			    (unsigned long long)f, st, owner);
		} else if (st == MF_KERNEL && (owner == MODEL_NONE || !m->env[owner].live)) {
			/* A page table charged to nobody, or to an environment that is gone. */
			return model_differ(
			    why, n, "frame %llu is the kernel's, charged to %u (not a live env)",
			    (unsigned long long)f, owner);
		}
	}
	for (unsigned c = 0; c < m->cfg.ncores; c++)
		for (unsigned i = 0; i < MODEL_TSLOTS; i++) {
			uint64_t gen;
			uint32_t owner = k->tslot(k->ctx, c, i, &gen);
			const struct mtslot *t = &m->tslot[c][i];
			if (owner != t->owner || gen != t->gen)
				return model_differ(
				    why, n,
				    "time slot %u.%u: owner %d gen %llu, the model says owner %d "
				    "gen %llu",
				    c, i, (int)owner, (unsigned long long)gen, (int)t->owner,
				    (unsigned long long)t->gen);
		}
	for (uint32_t x = 0; x < nep; x++) {
		uint32_t i = full ? x : m->ep_used[x];
		uint32_t owner = MODEL_NONE;
		uint64_t gen;
		bool live = k->ep(k->ctx, i, &owner, &gen);
		const struct mep *p = &m->ep[i];
		if (live != p->live || gen != p->gen || (live && owner != p->owner))
			return model_differ(
			    why, n,
			    "endpoint %u: %s owner %d gen %llu, the model says %s owner %d gen "
			    "%llu",
			    i, live ? "live" : "free", (int)owner, (unsigned long long)gen,
			    p->live ? "live" : "free", (int)p->owner, (unsigned long long)p->gen);
	}
	return true;
}
