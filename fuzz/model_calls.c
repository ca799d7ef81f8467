/*
 * The reference model's syscall mirrors (model.h, model_impl.h): for each
 * call, the errors docs/syscalls.md says apply, the verdict on the
 * kernel's answer, and, if it succeeded, the call performed on the model.
 */
#include "model_impl.h"

#include <stdarg.h>
#include <stdio.h>

/* ---- one call: the errors that apply, then the verdict ---- */

#define BIT(e) (1u << -(e))

struct call {
	struct model *m;
	uint32_t id; /* the caller */
	struct menv *e;
	const uint64_t *a;
	int64_t ret;
	uint32_t must; /* errors that apply: the kernel must return one of them */
	uint32_t may;  /* errors the kernel may return instead of succeeding */
	char *why;
	size_t n;
};

static bool fail(struct call *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): false positive, llvm-project#40656 */
	(void)vsnprintf(c->why, c->n, fmt, ap);
	va_end(ap);
	return false;
}

static void errs(uint32_t mask, char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int e = 1; e < 32; e++)
		if (mask & (1u << e))
			len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s%s",
						len ? " " : "", err_name(-e));
}

/*
 * Was the kernel's answer one the docs allow? JUDGE_PERFORM: it succeeded
 * and no error applied, so the model performs the call.
 */
enum { JUDGE_BAD, JUDGE_ERROR_OK, JUDGE_PERFORM };

static int judge(struct call *c)
{
	char want[256];
	errs(c->must, want, sizeof(want));
	if (c->ret < 0) {
		uint32_t b = c->ret >= -31 ? 1u << -c->ret : 0;
		if (b & (c->must | c->may))
			return JUDGE_ERROR_OK;
		if (c->must)
			fail(c, "returned %s, the docs allow only: %s", err_name((int)c->ret),
			     want);
		else
			fail(c, "returned %s where the docs say the call succeeds",
			     err_name((int)c->ret));
		return JUDGE_BAD;
	}
	if (c->must) {
		fail(c, "succeeded (%lld) where the docs require one of: %s", (long long)c->ret,
		     want);
		return JUDGE_BAD;
	}
	return JUDGE_PERFORM;
}

static void must(struct call *c, int err)
{
	c->must |= BIT(err);
}

/*
 * A capability argument: every use checks, in the docs' words, E_BADSLOT
 * (out of range, whatever the size, or empty), E_TYPE, E_PERM (a right
 * missing) and, where the call lists it, E_STALE. Returns the capability
 * if the slot holds one of the type (some checks may still have failed).
 */
static struct mcap *use(struct call *c, uint64_t slot, unsigned type, unsigned rights, bool fresh)
{
	if (slot >= MODEL_SLOTS || !c->e->caps[slot].type) {
		must(c, E_BADSLOT);
		return NULL;
	}
	struct mcap *p = &c->e->caps[slot];
	if (type != OBJ_NONE && p->type != type) {
		must(c, E_TYPE);
		return NULL;
	}
	if ((p->rights & rights) != rights)
		must(c, E_PERM);
	if (fresh && model_stale(c->m, p))
		must(c, E_STALE);
	return p;
}

/*
 * An environment argument (an env cap with rights, or ENV_SELF where the
 * call allows it): the environment if it is alive, else NULL.
 */
static struct menv *env_arg(struct call *c, uint64_t slot, unsigned rights, bool self_ok,
			    uint32_t *id)
{
	if (self_ok && slot == ENV_SELF) {
		*id = c->id;
		return c->e;
	}
	struct mcap *p = use(c, slot, OBJ_ENV, rights, true);
	if (!p || model_stale(c->m, p))
		return NULL;
	*id = (uint32_t)p->obj;
	return &c->m->env[p->obj];
}

/* ---- user memory ---- */

/* [va, va + n) inside [USER_BASE, USER_END), n > 0, no wrap. */
static bool in_user(uint64_t va, uint64_t n)
{
	return n && va >= USER_BASE && va < USER_END && n <= USER_END - va;
}

/* The capability bound at the page of va in e, or NULL. */
static const struct mcap *binding(const struct menv *e, uint64_t va)
{
	uint64_t page = va & ~(PAGE - 1);
	for (unsigned s = 0; s < e->top; s++)
		if (e->caps[s].type == OBJ_FRAME && e->caps[s].va == page)
			return &e->caps[s];
	return NULL;
}

/* Can the caller's kernel read (write) [va, va + n) of its own memory? */
static bool user_ok(const struct menv *e, uint64_t va, uint64_t n, bool write)
{
	if (!in_user(va, n))
		return false;
	for (uint64_t p = va & ~(PAGE - 1); p < va + n; p += PAGE) {
		const struct mcap *b = binding(e, p);
		if (!b || (write && !(b->prot & PROT_W)))
			return false;
	}
	return true;
}

/* ---- the calls ---- */

/* A new root capability (FRAME_ALLOC, ENV_CREATE, SLOT_ALLOC, EP_CREATE) in the slot the kernel
 * chose. */
static bool new_root(struct call *c, unsigned type, uint64_t obj, uint64_t gen)
{
	if (c->ret >= MODEL_SLOTS || c->e->caps[c->ret].type)
		return fail(c, "returned slot %lld, which was not free", (long long)c->ret);
	*model_fill(c->e, (uint32_t)c->ret) = (struct mcap){ .type = (uint8_t)type,
							     .rights = CAP_R_ALL,
							     .root = true,
							     .obj = obj,
							     .gen = gen,
							     .penv = MODEL_NONE,
							     .pslot = MODEL_NONE };
	return true;
}

/* The object the kernel put in the new slot (to learn its choice of frame, id...). */
static bool chosen(struct call *c, unsigned type, uint64_t *obj)
{
	struct cap_info i;
	*obj = 0; /* defined on failure too (the analyzer does not inline the variadic fail()) */
	if (c->ret < 0 || c->ret >= MODEL_SLOTS ||
	    c->m->k.inspect(c->m->k.ctx, c->id, (uint32_t)c->ret, &i) != 0 || i.type != type)
		return fail(c, "returned slot %lld, which does not hold the new capability",
			    (long long)c->ret);
	*obj = i.object;
	return true;
}

static bool take_frames(struct call *c, uint32_t victim, uint64_t frame, uint64_t count);

static bool sys_frame_alloc(struct call *c)
{
	struct model *m = c->m;
	uint64_t n = c->a[0], flags = c->a[1];
	bool pressure = false, reclaim = false;
	if (flags & ~(uint64_t)FRAME_WAIT)
		must(c, E_INVAL);
	if (model_table_full(c->e) || (n != FRAME_ANY && model_no_slot(m, c->e)))
		must(c, E_NOMEM);
	if (n == FRAME_ANY) {
		/*
		 * Memory pressure: with no free frame for the data and, if the
		 * table needs a new page, for that page, empty page tables are
		 * reclaimed first (one environment's, model_pt_reclaim_count),
		 * and the call is tried once more. Short still, the kernel asks
		 * the environment holding the most revocable frames beyond its
		 * guarantee for one and answers E_AGAIN; E_NOMEM "only when
		 * nothing anywhere is revocable". (FRAME_WAIT would wait: the
		 * harness does not make that call, model_would_block.)
		 */
		uint64_t want = 1 + model_needs_page(c->e), free = model_free_frames(m);
		if (free < want) {
			uint64_t k = model_pt_reclaim_count(m);
			reclaim = k > 0;
			if (free + k < want) {
				pressure = model_most_beyond(m, c->id) > 0;
				must(c, pressure ? E_AGAIN : E_NOMEM);
			}
		}
	} else if (n >= m->cfg.nframes) {
		must(c, E_RANGE);
	} else if (n < m->cfg.kernel_frames) {
		must(c, E_PERM);
	} else if (m->frame[n].table) {
		/* A page table: "the kernel's frame" and "owned, by anyone" both fit. */
		c->must |= BIT(E_PERM) | BIT(E_BUSY);
	} else if (m->frame[n].owner != MODEL_NONE) {
		must(c, E_BUSY);
	} else if (model_needs_page(c->e)) {
		/* The kernel takes any free frame for the table's new page first: perhaps n. */
		c->may |= BIT(E_PERM) | BIT(E_BUSY);
	}
	int j = judge(c);
	if (j == JUDGE_ERROR_OK && c->ret == E_AGAIN)
		return take_frames(c, MODEL_NONE, FRAME_ANY, 1); /* the revocation it started */
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	uint64_t f;
	if (!chosen(c, OBJ_FRAME, &f))
		return false;
	if (n != FRAME_ANY && f != n)
		return fail(c, "allocated frame %llu, not the frame %llu asked for",
			    (unsigned long long)f, (unsigned long long)n);
	/* A page table given back under pressure is free now (which one: the kernel's pick). */
	if (f < m->cfg.kernel_frames || f >= m->cfg.nframes || (m->frame[f].table && !reclaim) ||
	    m->frame[f].owner != MODEL_NONE)
		return fail(c, "allocated frame %llu, which was not free", (unsigned long long)f);
	if (m->frame[f].table)
		m->frame[f].gen++; /* freeing the table moved its generation on */
	m->frame[f].table = false;
	m->frame[f].owner = c->id;
	return new_root(c, OBJ_FRAME, f, m->frame[f].gen);
}

static bool sys_frame_free(struct call *c)
{
	struct mcap *p = use(c, c->a[0], OBJ_FRAME, CAP_R_CTRL, true);
	if (p) {
		if (!p->root || c->m->frame[p->obj].owner != c->id)
			must(c, E_PERM);
		if (model_count_children(c->m, c->id, (uint32_t)c->a[0]))
			must(c, E_BUSY);
	}
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	/* "Deleting the root capability of a frame frees the frame (same as FRAME_FREE)." */
	model_delete_cap(c->m, c->id, (uint32_t)c->a[0]);
	return true;
}

static bool sys_map(struct call *c)
{
	uint64_t va = c->a[1], prot = c->a[2];
	if (va % PAGE)
		must(c, E_ALIGN);
	if (!in_user(va, PAGE))
		must(c, E_FAULT);
	if (prot == 0 || (prot & ~(uint64_t)PROT_ALL))
		must(c, E_INVAL);
	/* Docs: "a user mapping may not be both writable and executable". */
	if ((prot & PROT_W) && (prot & PROT_X))
		must(c, E_INVAL);
	unsigned rights = CAP_R_MAP | CAP_R_READ | (prot & PROT_W ? CAP_R_WRITE : 0) |
			  (prot & PROT_X ? CAP_R_EXEC : 0);
	struct mcap *p = use(c, c->a[0], OBJ_FRAME, rights, true);
	if (p && p->va)
		must(c, E_BUSY);
	if (va % PAGE == 0 && in_user(va, PAGE) && binding(c->e, va))
		must(c, E_EXIST);
	/* E_NOMEM (page table): the model does not count tables; short of frames, allowed. */
	if (model_free_frames(c->m) < 3)
		c->may |= BIT(E_NOMEM);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (!p) /* cannot happen: a missing object made judge() require an error */
		return fail(c, "model: sys_map performed without its object");
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	p->va = va;
	p->prot = (unsigned)prot;
	p->ad = 0; /* a new mapping: nothing touched it yet */
	return true;
}

static bool sys_unmap(struct call *c)
{
	struct mcap *p = use(c, c->a[0], OBJ_FRAME, 0, false);
	if (p && !p->va)
		must(c, E_NOENT);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	model_unbind(c->m, c->id, p);
	return true;
}

static bool sys_read_ad(struct call *c)
{
	uint64_t va = c->a[0], npages = c->a[1], out = c->a[2];
	if (va % PAGE)
		must(c, E_ALIGN);
	if (npages == 0 || npages > READ_AD_MAX) {
		must(c, E_RANGE);
	} else {
		if (!in_user(va, npages * PAGE))
			must(c, E_FAULT);
		if (!user_ok(c->e, out, npages, true))
			must(c, E_FAULT);
	}
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	/*
	 * One byte per page of the caller's own mappings: AD_MAPPED, and the
	 * accessed and dirty bits user code set since they were last read.
	 * Docs silent: whether reading clears them. Decided: it does (the
	 * only way a CLOCK-like policy, docs/design.md's reason for READ_AD, can
	 * see a page being used again).
	 */
	uint8_t got[READ_AD_MAX];
	c->m->k.read_user(c->m->k.ctx, c->id, out, got, npages);
	for (uint64_t i = 0; i < npages; i++) {
		struct mcap *b = (struct mcap *)binding(c->e, va + i * PAGE);
		uint8_t want = b ? AD_MAPPED | b->ad : 0;
		if (got[i] != want)
			return fail(c, "page %llu (0x%llx): bits 0x%x, the model says 0x%x",
				    (unsigned long long)i, (unsigned long long)(va + i * PAGE),
				    got[i], want);
	}
	for (uint64_t i = 0; i < npages; i++) {
		struct mcap *b = (struct mcap *)binding(c->e, va + i * PAGE);
		if (b)
			b->ad = 0;
	}
	return true;
}

static bool sys_cap_mint(struct call *c)
{
	uint64_t rights = c->a[1], badge = c->a[2];
	if (rights & ~(uint64_t)CAP_R_ALL)
		must(c, E_INVAL);
	if (badge > 0xffffffffULL)
		must(c, E_RANGE);
	struct mcap *p = use(c, c->a[0], OBJ_NONE, CAP_R_GRANT, true);
	if (p) {
		if (badge && p->badge)
			must(c, E_PERM);
		if (p->depth + 1 > MAX_DEPTH)
			must(c, E_RANGE);
	}
	if (model_no_slot(c->m, c->e))
		must(c, E_NOMEM);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (!p) /* cannot happen: a missing object made judge() require an error */
		return fail(c, "model: sys_cap_mint performed without its object");
	if (c->ret >= MODEL_SLOTS || c->e->caps[c->ret].type)
		return fail(c, "returned slot %lld, which was not free", (long long)c->ret);
	/* "Mint can only remove rights"; badge 0 keeps the parent's. */
	*model_fill(c->e, (uint32_t)c->ret) = (struct mcap){
		.type = p->type,
		.rights = (uint8_t)(rights & p->rights),
		.badge = badge ? (uint32_t)badge : p->badge,
		.obj = p->obj,
		.gen = p->gen,
		.penv = c->id,
		.pslot = (uint32_t)c->a[0],
		.depth = p->depth + 1,
	};
	return true;
}

static bool sys_cap_grant(struct call *c)
{
	struct model *m = c->m;
	uint64_t slot = c->a[0], flags = c->a[2];
	bool move = flags == GRANT_MOVE;
	if (flags != GRANT_COPY && flags != GRANT_MOVE)
		must(c, E_INVAL);
	uint32_t tid = MODEL_NONE;
	struct menv *t = env_arg(c, c->a[1], CAP_R_CTRL, false, &tid);
	struct mcap *p = use(c, slot, OBJ_NONE, CAP_R_GRANT, true);
	if (p && move) {
		if (p->root)
			must(c, E_PERM);
		if (model_count_children(m, c->id, (uint32_t)slot) || p->va)
			must(c, E_BUSY);
	}
	/*
	 * Docs silent: the depth limit on a copy (a child, one level deeper).
	 * Decided: the same limit as mint (E_RANGE past depth 32).
	 */
	if (p && !move && p->depth + 1 > MAX_DEPTH)
		must(c, E_RANGE);
	if (t && model_no_slot(m, t))
		must(c, E_NOMEM);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (!p || !t) /* cannot happen: a missing object made judge() require an error */
		return fail(c, "model: sys_cap_grant performed without its object");
	if (c->ret >= MODEL_SLOTS || t->caps[c->ret].type)
		return fail(c, "returned slot %lld of env %u, which was not free",
			    (long long)c->ret, tid);
	struct mcap n = *p;
	if (move) {
		memset(p, 0, sizeof(*p)); /* "the source slot becomes empty" */
	} else {
		/* "the target gets a child of the cap": same rights and badge. */
		n.root = false;
		n.penv = c->id;
		n.pslot = (uint32_t)slot;
		n.depth = p->depth + 1;
		n.va = 0;
		n.prot = 0;
	}
	*model_fill(t, (uint32_t)c->ret) = n;
	return true;
}

static bool sys_cap_revoke(struct call *c)
{
	struct model *m = c->m;
	uint64_t slot = c->a[0];
	if (slot >= MODEL_SLOTS || !c->e->caps[slot].type) {
		must(c, E_BADSLOT);
		return judge(c) != JUDGE_BAD;
	}
	static struct ref d[MODEL_ENVS * 4];
	unsigned nd = model_descendants(m, c->id, (uint32_t)slot, d, 0, sizeof(d) / sizeof(d[0]));
	if (nd <= REVOKE_BATCH) {
		if (c->ret != 0)
			return fail(c,
				    "returned %s with %u descendants: the docs say 0 (all deleted)",
				    c->ret < 0 ? err_name((int)c->ret) : "a positive value", nd);
		/* Every descendant goes; the capability itself stays. */
		struct ref ch;
		while (model_first_child(m, c->id, (uint32_t)slot, &ch))
			model_delete_tree(m, ch.env, ch.slot);
		return true;
	}
	if (c->ret != E_AGAIN)
		return fail(
		    c,
		    "returned %lld with %u descendants: the docs say E_AGAIN (at most 16 a call)",
		    (long long)c->ret, nd);
	/*
	 * Which ones went is the kernel's choice: "at most 16 per call",
	 * "deepest first", and E_AGAIN means "has more to do". Whatever was
	 * deleted must take all of its own descendants with it.
	 */
	static bool gone[MODEL_ENVS * 4];
	unsigned ngone = 0;
	for (unsigned i = 0; i < nd; i++) {
		struct cap_info info;
		gone[i] = m->k.inspect(m->k.ctx, d[i].env, d[i].slot, &info) != 0;
		ngone += gone[i];
	}
	if (ngone == 0 || ngone > REVOKE_BATCH || ngone == nd)
		return fail(c,
			    "E_AGAIN after deleting %u of %u descendants (want 1..%u, some left)",
			    ngone, nd, REVOKE_BATCH);
	/* d[] lists parents before children: a kept child of a deleted parent is an error. */
	for (unsigned i = 0; i < nd; i++)
		for (unsigned k = i + 1; k < nd && gone[i]; k++) {
			const struct mcap *ck = &m->env[d[k].env].caps[d[k].slot];
			/* Is d[k] below d[i]? Walk up from d[k]. */
			struct ref up = { ck->penv, ck->pslot };
			bool below = false;
			for (unsigned guard = 0; guard <= MAX_DEPTH + 1 && !below; guard++) {
				if (up.env == d[i].env && up.slot == d[i].slot)
					below = true;
				else if (up.env == c->id && up.slot == slot)
					break;
				else {
					const struct mcap *u = &m->env[up.env].caps[up.slot];
					up = (struct ref){ u->penv, u->pslot };
				}
			}
			if (below && !gone[k])
				return fail(
				    c,
				    "deleted env %u slot %u but kept its descendant env %u slot %u "
				    "(not deepest first)",
				    d[i].env, d[i].slot, d[k].env, d[k].slot);
		}
	/* Children before parents: the reverse of d[]. */
	for (unsigned i = nd; i-- > 0;)
		if (gone[i])
			model_delete_cap(m, d[i].env, d[i].slot);
	return true;
}

static bool sys_cap_delete(struct call *c)
{
	uint64_t slot = c->a[0];
	if (slot >= MODEL_SLOTS || !c->e->caps[slot].type)
		must(c, E_BADSLOT);
	else if (model_count_children(c->m, c->id, (uint32_t)slot))
		must(c, E_BUSY);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	model_delete_cap(c->m, c->id, (uint32_t)slot);
	return true;
}

static bool sys_cap_inspect(struct call *c)
{
	uint64_t slot = c->a[0], out = c->a[1];
	if (slot >= MODEL_SLOTS || !c->e->caps[slot].type)
		must(c, E_BADSLOT);
	if (!user_ok(c->e, out, sizeof(struct cap_info), true))
		must(c, E_FAULT);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	struct cap_info got, want;
	c->m->k.read_user(c->m->k.ctx, c->id, out, &got, sizeof(got));
	model_info_of(c->m, c->id, (uint32_t)slot, &want,
		      model_count_children(c->m, c->id, (uint32_t)slot));
	return model_info_same(&got, &want, c->why, c->n, "the cap_info written to user memory");
}

static bool sys_env_create(struct call *c)
{
	struct model *m = c->m;
	uint64_t core = c->a[0];
	if (core >= m->cfg.ncores)
		must(c, E_INVAL);
	/*
	 * No frame for its page tables (none free once the table's page has
	 * its frame, no empty table to reclaim), no free environment, or a
	 * full table: E_NOMEM.
	 */
	if (model_no_slot(m, c->e) ||
	    (model_free_frames(m) <= model_needs_page(c->e) && !model_pt_reclaim_count(m)) ||
	    model_live_envs(m) == MODEL_ENVS)
		must(c, E_NOMEM);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	uint64_t id;
	if (!chosen(c, OBJ_ENV, &id))
		return false;
	if (id >= MODEL_ENVS || m->env[id].live)
		return fail(c, "created env %llu, which was in use", (unsigned long long)id);
	model_new_env(m, (uint32_t)id, (unsigned)core);
	return new_root(c, OBJ_ENV, id, m->env[id].gen);
}

static bool sys_env_start(struct call *c)
{
	/* The host has no program images: every id is E_INVAL ("no such program"). */
	if (c->a[1] >= c->m->cfg.nprogs)
		must(c, E_INVAL);
	/* The argument words: too long, unreadable, or not ended by a NUL (bytes unknown here). */
	if (c->a[4] > ENV_ARGS_MAX)
		must(c, E_RANGE);
	else if (c->a[4] && !user_ok(c->e, c->a[3], c->a[4], false))
		must(c, E_FAULT);
	else if (c->a[4])
		c->may |= BIT(E_INVAL);
	struct mcap *p = use(c, c->a[0], OBJ_ENV, CAP_R_CTRL, true);
	(void)p;
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	return fail(c, "started an environment on the host, which has no programs");
}

static bool sys_env_destroy(struct call *c)
{
	struct mcap *p = use(c, c->a[0], OBJ_ENV, CAP_R_CTRL, true);
	if (p && p->obj == c->id)
		must(c, E_BUSY); /* itself */
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	model_destroy(c->m, (uint32_t)p->obj);
	return true;
}

static bool sys_env_status(struct call *c)
{
	struct mcap *p = use(c, c->a[0], OBJ_ENV, 0, true);
	if (p && !model_stale(c->m, p))
		must(c, E_AGAIN);     /* nothing runs on the host, so nothing has exited */
	return judge(c) != JUDGE_BAD; /* never JUDGE_PERFORM: some error always applies */
}

static bool sys_upcall_set(struct call *c)
{
	uint64_t kind = c->a[0], entry = c->a[1], base = c->a[2], size = c->a[3];
	if (kind >= UPCALL_KINDS)
		must(c, E_INVAL);
	if (entry && !in_user(entry, 1))
		must(c, E_FAULT);
	/*
	 * Docs silent: whether the stack is checked when entry is 0 ("none"),
	 * and how small is "too small". Decided: with an entry, a stack
	 * outside user space is E_FAULT and a misaligned one E_ALIGN; E_RANGE
	 * is allowed (not required) for a size below one page.
	 */
	if (entry) {
		if (!in_user(base, size))
			must(c, E_FAULT);
		if (base % STACK_ALIGN || size % STACK_ALIGN)
			c->may |= BIT(E_ALIGN);
		if (base % STACK_ALIGN)
			must(c, E_ALIGN);
		if (size < PAGE)
			c->may |= BIT(E_RANGE);
	} else {
		c->may |= BIT(E_FAULT) | BIT(E_ALIGN) | BIT(E_RANGE);
	}
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	return c->ret == 0 || fail(c, "returned %lld, not 0", (long long)c->ret);
}

static bool sys_slot_alloc(struct call *c)
{
	struct model *m = c->m;
	uint64_t core = c->a[0], index = c->a[1];
	uint32_t oid = MODEL_NONE;
	struct menv *owner = env_arg(c, c->a[2], CAP_R_CTRL, true, &oid);
	if (core >= m->cfg.ncores || (owner && owner->home != core))
		must(c, E_INVAL);
	if (index != SLOT_ANY && index >= m->cfg.nslots)
		must(c, E_RANGE);
	if (core < m->cfg.ncores) {
		if (index == SLOT_ANY) {
			unsigned i = 0;
			while (i < m->cfg.nslots && m->tslot[core][i].owner != MODEL_NONE)
				i++;
			if (i == m->cfg.nslots)
				must(c, E_NOMEM);
		} else if (index < m->cfg.nslots && m->tslot[core][index].owner != MODEL_NONE) {
			must(c, E_BUSY);
		}
	}
	if (model_no_slot(m, c->e))
		must(c, E_NOMEM);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	uint64_t obj;
	if (!chosen(c, OBJ_SLOT, &obj))
		return false;
	uint64_t oc = obj / MODEL_TSLOTS, oi = obj % MODEL_TSLOTS;
	if (oc != core || oi >= m->cfg.nslots || (index != SLOT_ANY && oi != index) ||
	    m->tslot[oc][oi].owner != MODEL_NONE)
		return fail(
		    c, "gave slot object %llu (core %llu index %llu), not a free one asked for",
		    (unsigned long long)obj, (unsigned long long)oc, (unsigned long long)oi);
	m->tslot[oc][oi].owner = oid;
	return new_root(c, OBJ_SLOT, obj, m->tslot[oc][oi].gen);
}

/*
 * Freeing an object through its root capability (SLOT_FREE, BLOCK_FREE):
 * CTRL, the root ("E_PERM: not the root"), no derived caps ("E_BUSY");
 * the root's deletion gives the object up.
 */
static bool root_free(struct call *c, unsigned type)
{
	struct mcap *p = use(c, c->a[0], type, CAP_R_CTRL, true);
	if (p) {
		if (!p->root)
			must(c, E_PERM);
		if (model_count_children(c->m, c->id, (uint32_t)c->a[0]))
			must(c, E_BUSY);
	}
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	model_delete_cap(c->m, c->id, (uint32_t)c->a[0]);
	return true;
}

static bool sys_slot_free(struct call *c)
{
	return root_free(c, OBJ_SLOT);
}

static bool sys_env_cpu(struct call *c)
{
	uint32_t id;
	(void)env_arg(c, c->a[0], 0, true, &id);
	if (c->a[1] >= c->m->cfg.ncores)
		must(c, E_INVAL);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	/* Nothing runs in user mode on the host: no environment has used a cycle. */
	return c->ret == 0 || fail(c, "returned %lld cycles; nothing has run", (long long)c->ret);
}

static bool sys_ep_create(struct call *c)
{
	struct model *m = c->m;
	uint64_t entry = c->a[1], base = c->a[2], size = c->a[3];
	uint32_t oid = MODEL_NONE;
	(void)env_arg(c, c->a[0], CAP_R_CTRL, true, &oid);
	/* Docs: E_FAULT, E_ALIGN, as for UPCALL_SET's entry and stack (no E_RANGE listed). */
	if (!in_user(entry, 1) || !in_user(base, size))
		must(c, E_FAULT);
	if (base % STACK_ALIGN)
		must(c, E_ALIGN);
	if (size % STACK_ALIGN)
		c->may |= BIT(E_ALIGN);
	unsigned live = 0;
	for (unsigned i = 0; i < MODEL_EPS; i++)
		live += m->ep[i].live;
	if (model_no_slot(m, c->e) || live == MODEL_EPS)
		must(c, E_NOMEM);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	uint64_t id;
	if (!chosen(c, OBJ_ENDPOINT, &id))
		return false;
	if (id >= MODEL_EPS || m->ep[id].live)
		return fail(c, "created endpoint %llu, which was in use", (unsigned long long)id);
	m->ep[id].live = true;
	m->ep[id].owner = oid;
	model_note(m->ep_used, &m->nep_used, (uint32_t)id);
	return new_root(c, OBJ_ENDPOINT, id, m->ep[id].gen);
}

/*
 * The abort protocol took frames (docs/revocation.md: the owner cannot
 * answer on the host, so a request is carried out at once): which ones is
 * read off the ownership table — frames the model has owned that are now
 * free. victim MODEL_NONE: memory pressure, whose victim must be an
 * environment holding the most revocable frames beyond its guarantee.
 * Each taken frame: every capability derived from its root is revoked (with
 * its binding), the root's binding goes, the frame is freed with a
 * generation bump (the root stays, stale) and recorded for REPOSS_READ.
 */
static bool take_frames(struct call *c, uint32_t victim, uint64_t frame, uint64_t count)
{
	struct model *m = c->m;
	uint64_t taken[MODEL_FRAMES], most = model_most_beyond(m, c->id);
	unsigned nt = 0;
	for (uint64_t f = m->cfg.kernel_frames; f < m->cfg.nframes; f++) {
		uint32_t owner;
		uint64_t gen;
		if (m->frame[f].owner == MODEL_NONE ||
		    (m->k.frame(m->k.ctx, f, &owner, &gen) == MF_OWNED &&
		     owner == m->frame[f].owner))
			continue;
		if (victim == MODEL_NONE)
			victim = m->frame[f].owner;
		if (m->frame[f].owner != victim)
			return fail(c, "frames were taken from env %u and env %u", victim,
				    m->frame[f].owner);
		taken[nt++] = f;
	}
	if (victim == MODEL_NONE)
		return fail(c, "a revocation was started, but no frame was taken");
	uint64_t want = frame != FRAME_ANY ? 1 : MIN(count, model_beyond_guarantee(m, victim));
	if (nt != want || (frame != FRAME_ANY && taken[0] != frame))
		return fail(c, "took %u frames (first %lld) from env %u; the docs say %llu%s", nt,
			    nt ? (long long)taken[0] : -1LL, victim, (unsigned long long)want,
			    frame != FRAME_ANY ? " (the frame named)" : " beyond its guarantee");
	if (c->ret == E_AGAIN && (victim == c->id || model_beyond_guarantee(m, victim) < most))
		return fail(c,
			    "memory pressure took from env %u, not another one holding the most "
			    "revocable frames (%llu beyond its guarantee)",
			    victim, (unsigned long long)most);
	struct menv *v = &m->env[victim];
	for (unsigned i = 0; i < nt; i++) {
		uint64_t f = taken[i];
		uint32_t root = MODEL_NONE;
		for (uint32_t s = 0; s < v->top && root == MODEL_NONE; s++)
			if (v->caps[s].type == OBJ_FRAME && v->caps[s].root &&
			    v->caps[s].obj == f && !model_stale(m, &v->caps[s]))
				root = s;
		if (root == MODEL_NONE)
			return fail(c,
				    "took frame %llu, whose root capability env %u does not hold",
				    (unsigned long long)f, victim);
		struct ref ch;
		while (model_first_child(m, victim, root, &ch))
			model_delete_tree(m, ch.env, ch.slot);
		model_unbind(m, victim, &v->caps[root]);
		m->frame[f].owner = MODEL_NONE;
		m->frame[f].gen++;
		if (v->nreposs < MODEL_REPOSS)
			v->reposs[v->nreposs++] = f;
	}
	return true;
}

static bool sys_revoke_ask(struct call *c)
{
	struct model *m = c->m;
	uint64_t frame = c->a[1], count = c->a[2];
	uint32_t tid = MODEL_NONE;
	struct menv *t = env_arg(c, c->a[0], CAP_R_CTRL, false, &tid);
	if (count == 0 || (frame != FRAME_ANY && count != 1))
		must(c, E_INVAL);
	if (frame != FRAME_ANY && frame >= m->cfg.nframes)
		must(c, E_RANGE);
	else if (frame != FRAME_ANY && t && m->frame[frame].owner != tid)
		must(c, E_PERM); /* not the env's revocable frame */
	if (t && !model_beyond_guarantee(m, tid))
		must(c, E_PERM); /* within its guarantee */
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	return take_frames(c, tid, frame, count);
}

static bool sys_reposs_read(struct call *c)
{
	uint64_t out = c->a[0];
	if (!user_ok(c->e, out, MODEL_REPOSS * sizeof(uint64_t), true))
		must(c, E_FAULT);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	struct menv *e = c->e;
	if (c->ret != (int64_t)e->nreposs)
		return fail(c, "returned %lld, but %u frames were taken since the last read",
			    (long long)c->ret, e->nreposs);
	/* The frames, in any order. */
	uint64_t got[MODEL_REPOSS];
	c->m->k.read_user(c->m->k.ctx, c->id, out, got, e->nreposs * sizeof(uint64_t));
	for (unsigned i = 0; i < e->nreposs; i++) {
		unsigned want = 0, have = 0;
		for (unsigned k = 0; k < e->nreposs; k++) {
			want += e->reposs[k] == e->reposs[i];
			have += got[k] == e->reposs[i];
		}
		if (want != have)
			return fail(c, "wrote frame %llu %u times, it was taken %u times",
				    (unsigned long long)e->reposs[i], have, want);
	}
	e->nreposs = 0;
	return true;
}

static bool sys_guarantee(struct call *c)
{
	uint32_t tid = MODEL_NONE;
	struct menv *t = env_arg(c, c->a[0], CAP_R_CTRL, false, &tid);
	/* Docs silent on E_RANGE's bound. Decided: more frames than the machine has. */
	if (c->a[1] > c->m->cfg.nframes)
		must(c, E_RANGE);
	/* The sum of the live environments' guarantees stays within the frames not the kernel's. */
	uint64_t sum = c->a[1];
	for (uint32_t i = 0; i < MODEL_ENVS; i++)
		if (i != tid && c->m->env[i].live)
			sum += c->m->env[i].guarantee;
	if (sum > c->m->cfg.nframes - c->m->cfg.kernel_frames)
		must(c, E_RANGE);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	t->guarantee = c->a[1];
	return true;
}

static bool sys_notify(struct call *c)
{
	uint64_t bits = c->a[1];
	uint32_t tid = MODEL_NONE;
	struct menv *t = env_arg(c, c->a[0], CAP_R_WRITE, false, &tid);
	if (bits == 0)
		must(c, E_INVAL);
	/* Docs silent: bit 63, which NOTIFY_TAKE cannot return. Decided: refused or dropped. */
	if (bits & ~NOTIFY_BITS)
		c->may |= BIT(E_INVAL);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	t->notify |= bits & NOTIFY_BITS;
	return true;
}

bool model_would_block(const struct model *m, uint32_t env, uint64_t nr, const uint64_t a[6])
{
	return nr == SYS_FRAME_ALLOC && a[0] == FRAME_ANY && a[1] == FRAME_WAIT &&
	       !model_table_full(&m->env[env]) &&
	       model_free_frames(m) + model_pt_reclaim_count(m) <
		   1 + model_needs_page(&m->env[env]) &&
	       model_most_beyond(m, env) > 0;
}

/* ---- the exported disk (docs/disk.md, docs/syscalls.md calls 34-38) ---- */

#define BLOCK_RIGHTS (CAP_R_READ | CAP_R_WRITE | CAP_R_GRANT | CAP_R_CTRL)

static unsigned disk_outstanding(const struct model *m, uint32_t env)
{
	unsigned n = 0;
	for (unsigned i = 0; i < MODEL_REQS; i++)
		n += m->req[i].live && (env == MODEL_NONE || m->req[i].env == env);
	return n;
}

static bool sys_disk_info(struct call *c)
{
	struct model *m = c->m;
	if (!m->cfg.disk_blocks)
		must(c, E_NOTSUP);
	else if (!user_ok(c->e, c->a[0], sizeof(struct disk_info), true))
		must(c, E_FAULT);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	struct disk_info di;
	m->k.read_user(m->k.ctx, c->id, c->a[0], &di, sizeof(di));
	uint64_t used = 0;
	for (unsigned i = 0; i < m->nranges; i++)
		used += m->range[i].count;
	if (c->ret != 0 || di.blocks != m->cfg.disk_blocks || di.block_size != BLOCK_SIZE ||
	    di.free_blocks != m->cfg.disk_blocks - used || di.inflight_max != DISK_PER_ENV ||
	    di.inflight_device != m->cfg.disk_depth)
		return fail(c,
			    "returned %lld with blocks %llu free %llu size %u per-env %u device %u;"
			    " the model says 0, %llu, %llu, %llu, %u, %u",
			    (long long)c->ret, (unsigned long long)di.blocks,
			    (unsigned long long)di.free_blocks, di.block_size, di.inflight_max,
			    di.inflight_device, (unsigned long long)m->cfg.disk_blocks,
			    (unsigned long long)(m->cfg.disk_blocks - used), BLOCK_SIZE,
			    DISK_PER_ENV, m->cfg.disk_depth);
	return true;
}

/* Where "the first gap that fits" count blocks starts; ~0 if none. */
static uint64_t first_gap(const struct model *m, uint64_t count)
{
	uint64_t at = 0;
	for (unsigned i = 0; i < m->nranges; i++) {
		if (m->range[i].first - at >= count)
			return at;
		at = m->range[i].first + m->range[i].count;
	}
	return m->cfg.disk_blocks - at >= count ? at : ~0ULL;
}

static bool sys_block_alloc(struct call *c)
{
	struct model *m = c->m;
	uint64_t first = c->a[0], count = c->a[1], n = m->cfg.disk_blocks;
	if (!n) {
		must(c, E_NOTSUP);
	} else if (count == 0) {
		must(c, E_INVAL);
	} else if (count > n || (first != BLOCK_ANY && (first >= n || count > n - first))) {
		must(c, E_RANGE);
	} else {
		if (model_no_slot(m, c->e) || m->nranges == MODEL_RANGES)
			must(c, E_NOMEM);
		if (first == BLOCK_ANY && first_gap(m, count) == ~0ULL)
			must(c, E_NOMEM);
		for (unsigned i = 0; first != BLOCK_ANY && i < m->nranges; i++)
			if (m->range[i].first < first + count &&
			    first < m->range[i].first + m->range[i].count)
				must(c, E_BUSY);
	}
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	uint64_t obj, want = first == BLOCK_ANY ? first_gap(m, count) : first;
	if (!chosen(c, OBJ_BLOCKS, &obj))
		return false;
	if (obj != (want | count << 32))
		return fail(c, "gave blocks [%llu, +%llu), the model says [%llu, +%llu)",
			    (unsigned long long)(obj & 0xffffffffu),
			    (unsigned long long)(obj >> 32), (unsigned long long)want,
			    (unsigned long long)count);
	struct cap_info i;
	m->k.inspect(m->k.ctx, c->id, (uint32_t)c->ret, &i);
	/* Docs: a freed range's capabilities are stale even if the blocks come back. */
	if (i.gen <= m->range_gen_seen)
		return fail(c, "the new range has generation %llu, not newer than %llu",
			    (unsigned long long)i.gen, (unsigned long long)m->range_gen_seen);
	m->range_gen_seen = i.gen;
	unsigned at = 0;
	while (at < m->nranges && m->range[at].first < want)
		at++;
	memmove(&m->range[at + 1], &m->range[at], (m->nranges - at) * sizeof(m->range[0]));
	m->range[at] = (struct mrange){ want, count, i.gen };
	m->nranges++;
	if (!new_root(c, OBJ_BLOCKS, obj, i.gen))
		return false;
	c->e->caps[c->ret].rights = BLOCK_RIGHTS;
	return true;
}

static bool sys_block_free(struct call *c)
{
	return root_free(c, OBJ_BLOCKS);
}

static bool sys_block_io(struct call *c)
{
	struct model *m = c->m;
	uint64_t block = c->a[1], op = c->a[3], notify = c->a[4];
	if (!m->cfg.disk_blocks) {
		must(c, E_NOTSUP);
	} else {
		/* Bit 63 is refused, as NOTIFY_TAKE could not return it. */
		if (op > BLOCK_WRITE || (notify & ~NOTIFY_BITS))
			must(c, E_INVAL);
		bool write = op == BLOCK_WRITE;
		struct mcap *b =
		    use(c, c->a[0], OBJ_BLOCKS, write ? CAP_R_WRITE : CAP_R_READ, true);
		if (b && !model_stale(m, b) && block >= b->obj >> 32)
			must(c, E_RANGE);
		struct mcap *f = use(c, c->a[2], OBJ_FRAME, write ? CAP_R_READ : CAP_R_WRITE, true);
		/* "a frame the caller owns": granted ones are not. */
		if (f && !model_stale(m, f) && m->frame[f->obj].owner != c->id)
			must(c, E_PERM);
		if (!c->must && (disk_outstanding(m, c->id) >= DISK_PER_ENV ||
				 disk_outstanding(m, MODEL_NONE) >= m->cfg.disk_depth))
			must(c, E_AGAIN);
		c->may |= BIT(E_STALE); /* "the range or frame went meanwhile" (another core) */
	}
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	unsigned free_at = MODEL_REQS;
	for (unsigned i = 0; i < MODEL_REQS; i++) {
		if (m->req[i].live && m->req[i].id == (uint64_t)c->ret)
			return fail(c,
				    "returned request id %lld, which names an outstanding request",
				    (long long)c->ret);
		if (!m->req[i].live && free_at == MODEL_REQS)
			free_at = i;
	}
	if (free_at == MODEL_REQS)
		return fail(c, "more requests outstanding than the device holds");
	m->req[free_at] = (struct mreq){ true, c->id, (uint64_t)c->ret };
	c->e->notify_maybe |= notify;
	return true;
}

static bool sys_block_wait(struct call *c)
{
	struct model *m = c->m;
	uint64_t id = c->a[0], flags = c->a[1];
	struct mreq *r = NULL;
	if (!m->cfg.disk_blocks) {
		must(c, E_NOTSUP);
	} else {
		if (flags > BLOCK_WAIT_DONE)
			must(c, E_INVAL);
		for (unsigned i = 0; i < MODEL_REQS && !r; i++)
			if (m->req[i].live && m->req[i].env == c->id && m->req[i].id == id)
				r = &m->req[i];
		if (!r)
			must(c, E_NOENT);
		else if (flags == BLOCK_POLL)
			c->may |= BIT(E_AGAIN); /* still in flight */
	}
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	/* The host's disk never fails a request unless a test asks it to. */
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	r->live = false;
	return true;
}

/* ---- downloaded code (docs/downloaded-code.md) ---- */

/* Is a program attached to env at hook? "Freeing or revoking the region frame detaches". */
static bool bpf_attached(const struct model *m, uint32_t env, unsigned hook)
{
	for (unsigned i = 0; i < MODEL_BPF; i++) {
		const struct mbpf *b = &m->bpf[i];
		if (b->live && b->env == env && b->hook == hook &&
		    (!b->region ||
		     (m->frame[b->frame].owner == env && m->frame[b->frame].gen == b->frame_gen)))
			return true;
	}
	return false;
}

/*
 * BPF_LOAD(hook, image, len, region, verdict va, target). The docs' errors:
 * E_FAULT (verdict va not writable, image not readable), E_RANGE (len 0 or
 * past BPF_IMAGE_MAX), E_INVAL (no such hook; a target for a hook other
 * than message; the image or program refused — the verifier's verdict is
 * beyond this model: its own fuzzer, fuzz/bpf_fuzz.c, checks it), the
 * region's capability errors (READ, and WRITE for the message hook) and
 * E_PERM (a frame the caller does not own), the target's (an env cap with
 * WRITE), E_BUSY (a program attached there), E_NOMEM (table full, or 32
 * programs loaded).
 */
static bool sys_bpf_load(struct call *c)
{
	struct model *m = c->m;
	uint64_t hook = c->a[0], va = c->a[1], len = c->a[2], region = c->a[3], out = c->a[4],
		 target = c->a[5];
	if (out && !user_ok(c->e, out, sizeof(struct bpf_load_verdict), true))
		must(c, E_FAULT);
	if (len == 0 || len > BPF_IMAGE_MAX)
		must(c, E_RANGE);
	bool hook_ok = hook >= 1 && hook <= 3;
	if (!hook_ok)
		must(c, E_INVAL);
	struct mcap *f = NULL;
	if (region != BPF_NO_REGION) {
		f = use(c, region, OBJ_FRAME, CAP_R_READ | (hook == 3 ? CAP_R_WRITE : 0), true);
		if (f && !model_stale(m, f) && m->frame[f->obj].owner != c->id)
			must(c, E_PERM);
	}
	if (hook == 3) {
		uint32_t id;
		(void)env_arg(c, target, CAP_R_WRITE, false, &id);
	} else if (target != 0) {
		must(c, E_INVAL);
	}
	if (hook_ok && bpf_attached(m, c->id, (unsigned)hook))
		must(c, E_BUSY);
	if (len && len <= BPF_IMAGE_MAX && !user_ok(c->e, va, len, false))
		must(c, E_FAULT);
	c->may |= BIT(E_INVAL); /* the ELF reader's or the verifier's refusal */
	unsigned live = 0;
	for (unsigned i = 0; i < MODEL_BPF; i++)
		live += m->bpf[i].live;
	if (model_no_slot(m, c->e) || live == MODEL_BPF)
		must(c, E_NOMEM);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	uint64_t obj;
	if (!chosen(c, OBJ_BPF, &obj))
		return false;
	if (obj >= MODEL_BPF || m->bpf[obj].live)
		return fail(c, "gave program %llu, not a free one", (unsigned long long)obj);
	m->bpf[obj] = (struct mbpf){ .live = true,
				     .gen = m->bpf[obj].gen,
				     .env = c->id,
				     .hook = (unsigned)hook,
				     .region = f != NULL,
				     .frame = f ? f->obj : 0,
				     .frame_gen = f ? f->gen : 0 };
	if (!new_root(c, OBJ_BPF, obj, m->bpf[obj].gen))
		return false;
	c->e->caps[c->ret].rights = CAP_R_READ | CAP_R_CTRL; /* no GRANT: it stays with its env */
	return true;
}

bool model_call(struct model *m, uint32_t env, uint64_t nr, const uint64_t a[6], int64_t ret,
		char *why, size_t n)
{
	struct call c = {
		.m = m, .id = env, .e = &m->env[env], .a = a, .ret = ret, .why = why, .n = n
	};
	why[0] = '\0';
	m->flush = 0;
	switch (nr) {
	case SYS_CONSOLE_WRITE:
		if (a[1] > CONSOLE_MAX)
			must(&c, E_RANGE);
		else if (a[1] && !user_ok(c.e, a[0], a[1], false))
			must(&c, E_FAULT);
		else if (!a[1])
			c.may |= BIT(E_FAULT); /* Docs silent: is an empty buffer's address checked?
			                          Either. */
		if (judge(&c) != JUDGE_PERFORM)
			return !why[0];
		return ret == (int64_t)a[1] ||
		       fail(&c, "returned %lld, not the length", (long long)ret);
	case SYS_CORE_ID:
		return ret == (int64_t)c.e->home ||
		       fail(&c, "returned core %lld, the caller is homed on %u", (long long)ret,
			    c.e->home);
	case SYS_TIME:
		if (!user_ok(c.e, a[0], sizeof(struct sys_time), true))
			must(&c, E_FAULT);
		if (judge(&c) != JUDGE_PERFORM)
			return !why[0];
		return ret == 0 || fail(&c, "returned %lld, not 0", (long long)ret);
	case SYS_FRAME_ALLOC:
		return sys_frame_alloc(&c);
	case SYS_FRAME_FREE:
		return sys_frame_free(&c);
	case SYS_MAP:
		return sys_map(&c);
	case SYS_UNMAP:
		return sys_unmap(&c);
	case SYS_READ_AD:
		return sys_read_ad(&c);
	case SYS_CAP_MINT:
		return sys_cap_mint(&c);
	case SYS_CAP_GRANT:
		return sys_cap_grant(&c);
	case SYS_CAP_REVOKE:
		return sys_cap_revoke(&c);
	case SYS_CAP_DELETE:
		return sys_cap_delete(&c);
	case SYS_CAP_INSPECT:
		return sys_cap_inspect(&c);
	case SYS_ENV_CREATE:
		return sys_env_create(&c);
	case SYS_ENV_START:
		return sys_env_start(&c);
	case SYS_ENV_DESTROY:
		return sys_env_destroy(&c);
	case SYS_ENV_STATUS:
		return sys_env_status(&c);
	case SYS_DEBUG_CHECK:
		return ret == 0 || fail(&c, "the checker found %lld problems", (long long)ret);
	case SYS_FRAME_COUNT:
		return ret == (int64_t)model_free_frames(m) ||
		       fail(&c, "returned %lld free frames, the model counts %llu", (long long)ret,
			    (unsigned long long)model_free_frames(m));
	case SYS_UPCALL_SET:
		return sys_upcall_set(&c);
	case SYS_SLOT_ALLOC:
		return sys_slot_alloc(&c);
	case SYS_SLOT_FREE:
		return sys_slot_free(&c);
	case SYS_ENV_CPU:
		return sys_env_cpu(&c);
	case SYS_EP_CREATE:
		return sys_ep_create(&c);
	case SYS_REVOKE_ASK:
		return sys_revoke_ask(&c);
	case SYS_REPOSS_READ:
		return sys_reposs_read(&c);
	case SYS_GUARANTEE:
		return sys_guarantee(&c);
	case SYS_NOTIFY:
		return sys_notify(&c);
	case SYS_DISK_INFO:
		return sys_disk_info(&c);
	case SYS_BLOCK_ALLOC:
		return sys_block_alloc(&c);
	case SYS_BLOCK_FREE:
		return sys_block_free(&c);
	case SYS_BLOCK_IO:
		return sys_block_io(&c);
	case SYS_BLOCK_WAIT:
		return sys_block_wait(&c);
	case SYS_BPF_LOAD:
		return sys_bpf_load(&c);
	case SYS_NOTIFY_TAKE: {
		int64_t want = (int64_t)(c.e->notify & NOTIFY_BITS);
		/* Bits of disk completions may have come, or not yet. */
		if (ret >= 0 && ((uint64_t)ret & ~c.e->notify_maybe) == (uint64_t)want &&
		    !((uint64_t)want & ~(uint64_t)ret))
			want = ret;
		c.e->notify = 0;
		return ret == want || fail(&c, "returned 0x%llx, the bits sent were 0x%llx",
					   (unsigned long long)ret, (unsigned long long)want);
	}
	default:
		if (nr >= SYS_COUNT) {
			must(&c, E_NOTSUP);
			return judge(&c) != JUDGE_BAD;
		}
		return fail(&c, "the model does not know call %llu", (unsigned long long)nr);
	}
}

bool model_touch(struct model *m, uint32_t env, uint64_t va, bool write, int ret, char *why,
		 size_t n)
{
	struct mcap *b = in_user(va, 1) ? (struct mcap *)binding(&m->env[env], va) : NULL;
	int want = !b ? E_NOENT : write && !(b->prot & PROT_W) ? E_INVAL : E_OK;
	if (ret != want)
		return model_differ(why, n, "touching 0x%llx: the MMU said %s, the model %s",
				    (unsigned long long)va, err_name(ret), err_name(want));
	if (!ret)
		b->ad |= AD_ACCESSED | (write ? AD_DIRTY : 0);
	return true;
}
