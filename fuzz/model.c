/*
 * The reference model (model.h): docs/syscalls.md read literally, as
 * plainly as C allows. Each call first collects every error the docs say
 * applies (judge() then accepts any of them, since the docs fix no order
 * between them), and only if the kernel succeeded performs the call.
 *
 * Where the docs are silent or ambiguous and the model had to decide, the
 * comment says "Docs silent" or "Docs ambiguous"; fuzz/README.md lists
 * those decisions.
 */
#include "model.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PAGE         4096ULL
#define MAX_DEPTH    32   /* CAP_MINT: E_RANGE for "depth > 32" */
#define REVOKE_BATCH 16   /* CAP_REVOKE: "at most 16 per call" */
#define CONSOLE_MAX  4096 /* CONSOLE_WRITE: E_RANGE for len > 4096 */
#define READ_AD_MAX  512  /* READ_AD: npages 1..512 */
#define PROT_ALL     (PROT_R | PROT_W | PROT_X)
#define STACK_ALIGN  16 /* UPCALL_SET: "stack not 16-aligned" */

struct mcap {
	uint8_t type; /* enum obj_type; OBJ_NONE: the slot is empty */
	uint8_t rights;
	bool root;
	uint32_t badge;
	uint64_t obj, gen;
	uint32_t penv, pslot; /* the parent capability; MODEL_NONE for a root */
	uint32_t depth;
	uint64_t va;   /* the one address this frame cap is bound at, 0: none */
	unsigned prot; /* PROT_* of that binding */
	uint8_t ad;    /* AD_ACCESSED | AD_DIRTY of that mapping since READ_AD last read them */
};

struct menv {
	bool live; /* caps[] is meaningful only while live (cleared at creation) */
	unsigned home;
	uint64_t gen;
	uint64_t guarantee;            /* frames never revoked (SYS_GUARANTEE) */
	uint64_t notify;               /* notification bits not yet taken */
	uint64_t reposs[MODEL_REPOSS]; /* frames taken by force since the last REPOSS_READ */
	unsigned nreposs;
	struct mcap caps[CAP_SLOTS];
};

struct mframe {
	uint32_t owner; /* MODEL_NONE: nobody */
	uint64_t gen;
	bool table; /* the kernel holds it (its image, or a page table): not allocatable */
	bool fixed; /* the kernel's own for good (its image, its message rings) */
};

struct mtslot {
	uint32_t owner;
	uint64_t gen;
};

struct mep {
	bool live;
	uint32_t owner;
	uint64_t gen;
};

struct model {
	uint16_t children[MODEL_ENVS][CAP_SLOTS]; /* model_check's tally, rows of live envs only */
	/* Environments and endpoints that have lived in this run: the ones a check must look at. */
	uint32_t env_used[MODEL_ENVS], ep_used[MODEL_EPS];
	unsigned nenv_used, nep_used;
	/*
	 * Bit i: env[i].live, kept beside it so that the scans over every
	 * live environment (in id order, as before) need not touch 256 rows
	 * of 256 slots each to find the few that are live.
	 */
	uint64_t live_mask[MODEL_ENVS / 64];
	struct model_config cfg;
	struct model_kernel k;
	struct menv env[MODEL_ENVS];
	struct mframe frame[MODEL_FRAMES];
	struct mtslot tslot[MODEL_CORES][MODEL_TSLOTS];
	struct mep ep[MODEL_EPS];
	uint64_t flush; /* cores whose TLB must have been flushed in this call */
};

static struct model the_model;
struct model *const model_instance = &the_model;

/* ---- objects ---- */

static uint64_t obj_gen(const struct model *m, unsigned type, uint64_t obj)
{
	switch (type) {
	case OBJ_FRAME:
		return m->frame[obj].gen;
	case OBJ_ENV:
		return m->env[obj].gen;
	case OBJ_SLOT:
		return m->tslot[obj / MODEL_TSLOTS][obj % MODEL_TSLOTS].gen;
	case OBJ_ENDPOINT:
		return m->ep[obj].gen;
	}
	return ~0ULL;
}

/* Generations: a capability for an earlier incarnation of its object is stale. */
static bool stale(const struct model *m, const struct mcap *c)
{
	return obj_gen(m, c->type, c->obj) != c->gen;
}

static bool table_full(const struct menv *e)
{
	for (unsigned s = 0; s < CAP_SLOTS; s++)
		if (!e->caps[s].type)
			return false;
	return true;
}

static uint64_t free_frames(const struct model *m)
{
	uint64_t n = 0;
	for (uint64_t f = m->cfg.kernel_frames; f < m->cfg.nframes; f++)
		n += m->frame[f].owner == MODEL_NONE && !m->frame[f].table;
	return n;
}

static void set_live(struct model *m, uint32_t id, bool live)
{
	m->env[id].live = live;
	if (live)
		m->live_mask[id / 64] |= 1ULL << (id % 64);
	else
		m->live_mask[id / 64] &= ~(1ULL << (id % 64));
}

/* The first live environment id at or after from; MODEL_ENVS if none. */
static uint32_t next_live(const struct model *m, uint32_t from)
{
	for (uint32_t w = from / 64; w < MODEL_ENVS / 64; w++) {
		uint64_t bits = m->live_mask[w];
		if (w == from / 64)
			bits &= ~0ULL << (from % 64);
		if (bits)
			return w * 64 + (uint32_t)__builtin_ctzll(bits);
	}
	return MODEL_ENVS;
}

/* Every live environment id i, in id order. */
#define for_each_live(m, i) \
	for (uint32_t i = next_live(m, 0); i < MODEL_ENVS; i = next_live(m, i + 1))

static unsigned live_envs(const struct model *m)
{
	unsigned n = 0;
	for (unsigned w = 0; w < MODEL_ENVS / 64; w++)
		n += (unsigned)__builtin_popcountll(m->live_mask[w]);
	return n;
}

/*
 * Revocable frames (docs/revocation.md): those the environment allocated
 * itself with FRAME_ALLOC — on the host, every frame it owns (no program
 * images, stacks or page tables are owned frames). Above its guarantee
 * they can be taken.
 */
static uint64_t beyond_guarantee(const struct model *m, uint32_t id)
{
	uint64_t n = 0;
	for (uint64_t f = m->cfg.kernel_frames; f < m->cfg.nframes; f++)
		n += m->frame[f].owner == id;
	return n > m->env[id].guarantee ? n - m->env[id].guarantee : 0;
}

/*
 * The most revocable frames beyond its guarantee an environment other than
 * the caller holds. Docs ambiguous: "the kernel asks the environment
 * holding the most revocable frames beyond its guarantee" — read as another
 * environment than the one allocating (taking its own frame to hand it
 * back would be pointless), as the kernel does.
 */
static uint64_t most_beyond(const struct model *m, uint32_t caller)
{
	uint64_t most = 0;
	for_each_live(m, i)
		if (i != caller && beyond_guarantee(m, i) > most)
			most = beyond_guarantee(m, i);
	return most;
}

static void note(uint32_t *list, unsigned *n, uint32_t id)
{
	for (unsigned i = 0; i < *n; i++)
		if (list[i] == id)
			return;
	list[(*n)++] = id;
}

static void new_env(struct model *m, uint32_t id, unsigned home)
{
	struct menv *e = &m->env[id];
	note(m->env_used, &m->nenv_used, id);
	set_live(m, id, true);
	e->home = home;
	e->guarantee = e->notify = 0;
	e->nreposs = 0;
	memset(e->caps, 0, sizeof(e->caps));
}

/* ---- derivation: parent links, found by scanning every table ---- */

struct ref {
	uint32_t env, slot;
};

static bool is_child(const struct mcap *c, uint32_t env, uint32_t slot)
{
	return c->type && !c->root && c->penv == env && c->pslot == slot;
}

/* Some child of (env, slot), if there is one. */
static bool first_child(const struct model *m, uint32_t env, uint32_t slot, struct ref *out)
{
	for_each_live(m, i) {
		for (uint32_t s = 0; s < CAP_SLOTS; s++)
			if (is_child(&m->env[i].caps[s], env, slot)) {
				*out = (struct ref){i, s};
				return true;
			}
	}
	return false;
}

static unsigned count_children(const struct model *m, uint32_t env, uint32_t slot)
{
	unsigned n = 0;
	for_each_live(m, i)
		for (uint32_t s = 0; s < CAP_SLOTS; s++)
			n += is_child(&m->env[i].caps[s], env, slot);
	return n;
}

/* Every descendant of (env, slot), parents before their children; returns how many. */
static unsigned descendants(const struct model *m, uint32_t env, uint32_t slot, struct ref *out,
                            unsigned n, unsigned max)
{
	for_each_live(m, i) {
		for (uint32_t s = 0; s < CAP_SLOTS; s++)
			if (is_child(&m->env[i].caps[s], env, slot) && n < max) {
				out[n++] = (struct ref){i, s};
				n = descendants(m, i, s, out, n, max);
			}
	}
	return n;
}

static void destroy(struct model *m, uint32_t id);

/* The object behind a root capability goes away with it (docs: "Delete"). */
static void release(struct model *m, unsigned type, uint64_t obj)
{
	switch (type) {
	case OBJ_FRAME:
		m->frame[obj].owner = MODEL_NONE;
		m->frame[obj].gen++;
		break;
	case OBJ_ENV:
		destroy(m, (uint32_t)obj);
		break;
	case OBJ_SLOT: {
		struct mtslot *t = &m->tslot[obj / MODEL_TSLOTS][obj % MODEL_TSLOTS];
		t->owner = MODEL_NONE;
		t->gen++;
		break;
	}
	case OBJ_ENDPOINT:
		m->ep[obj].live = false;
		m->ep[obj].gen++;
		break;
	}
}

/*
 * A binding goes: "Deleting or revoking a capability removes its binding
 * (with a TLB flush on the home core of the environment that had it)".
 */
static void unbind(struct model *m, uint32_t env, struct mcap *c)
{
	if (c->va)
		m->flush |= 1ULL << m->env[env].home;
	c->va = 0;
	c->prot = 0;
	c->ad = 0;
}

/* Delete one capability with no children: its binding goes, and a live root's object. */
static void delete_cap(struct model *m, uint32_t env, uint32_t slot)
{
	unbind(m, env, &m->env[env].caps[slot]);
	struct mcap c = m->env[env].caps[slot];
	memset(&m->env[env].caps[slot], 0, sizeof(c));
	if (c.root && !stale(m, &c))
		release(m, c.type, c.obj);
}

/* Delete a capability and everything derived from it, deepest first. */
static void delete_tree(struct model *m, uint32_t env, uint32_t slot)
{
	struct ref ch;
	while (first_child(m, env, slot, &ch))
		delete_tree(m, ch.env, ch.slot);
	if (m->env[env].caps[slot].type)
		delete_cap(m, env, slot);
}

/*
 * Destroy (docs: "Destroy deletes every capability of the environment
 * (revoking what others derived from them), frees every frame it owned and
 * its page tables"). Frames it owned are exactly those whose root caps it
 * held, so deleting its capabilities frees them; deleting a root env cap
 * destroys that environment in turn.
 */
static void destroy(struct model *m, uint32_t id)
{
	struct menv *x = &m->env[id];
	if (!x->live)
		return;
	x->gen++;
	for (uint32_t s = 0; s < CAP_SLOTS; s++)
		if (x->caps[s].type)
			delete_tree(m, id, s);
	set_live(m, id, false);
	/*
	 * Docs silent: what becomes of time slots whose owner is destroyed.
	 * Decided: they are freed (generation bumped), as its frames are —
	 * otherwise a dead environment would hold time forever.
	 */
	for (unsigned c = 0; c < m->cfg.ncores; c++)
		for (unsigned i = 0; i < MODEL_TSLOTS; i++)
			if (m->tslot[c][i].owner == id) {
				m->tslot[c][i].owner = MODEL_NONE;
				m->tslot[c][i].gen++;
			}
	/*
	 * Docs silent: endpoints whose calls run in a destroyed environment.
	 * Decided (as the kernel does since "Endpoints die with their
	 * environment"): they are deleted, and capabilities to them go stale.
	 */
	for (uint32_t i = 0; i < MODEL_EPS; i++)
		if (m->ep[i].live && m->ep[i].owner == id) {
			m->ep[i].live = false;
			m->ep[i].gen++;
		}
}

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
	vsnprintf(c->why, c->n, fmt, ap);
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
	if (slot >= CAP_SLOTS || !c->e->caps[slot].type) {
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
	if (fresh && stale(c->m, p))
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
	if (!p || stale(c->m, p))
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
	for (unsigned s = 0; s < CAP_SLOTS; s++)
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

/* ---- what a capability looks like to CAP_INSPECT ---- */

static void info_of(const struct model *m, uint32_t env, uint32_t slot, struct cap_info *i,
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
static bool info_same(const struct cap_info *k, const struct cap_info *w, char *why, size_t n,
                      const char *where)
{
#define FIELD(f)                                                                                   \
	if (k->f != w->f) {                                                                        \
		if (why)                                                                           \
			snprintf(why, n,                                                           \
			         "%s: " #f " is %llu (0x%llx), the model says %llu (0x%llx)",      \
			         where, (unsigned long long)k->f, (unsigned long long)k->f,        \
			         (unsigned long long)w->f, (unsigned long long)w->f);              \
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

/* ---- the calls ---- */

/* A new root capability (FRAME_ALLOC, ENV_CREATE, SLOT_ALLOC, EP_CREATE) in the slot the kernel
 * chose. */
static bool new_root(struct call *c, unsigned type, uint64_t obj, uint64_t gen)
{
	if (c->ret >= CAP_SLOTS || c->e->caps[c->ret].type)
		return fail(c, "returned slot %lld, which was not free", (long long)c->ret);
	c->e->caps[c->ret] = (struct mcap){.type = (uint8_t)type,
	                                   .rights = CAP_R_ALL,
	                                   .root = true,
	                                   .obj = obj,
	                                   .gen = gen,
	                                   .penv = MODEL_NONE,
	                                   .pslot = MODEL_NONE};
	return true;
}

/* The object the kernel put in the new slot (to learn its choice of frame, id...). */
static bool chosen(struct call *c, unsigned type, uint64_t *obj)
{
	struct cap_info i;
	if (c->ret < 0 || c->ret >= CAP_SLOTS ||
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
	bool pressure = false;
	if (flags & ~(uint64_t)FRAME_WAIT)
		must(c, E_INVAL);
	if (table_full(c->e))
		must(c, E_NOMEM);
	if (n == FRAME_ANY) {
		/*
		 * Memory pressure: with no free frame the kernel asks the
		 * environment holding the most revocable frames beyond its
		 * guarantee for one and answers E_AGAIN; E_NOMEM "only when
		 * nothing anywhere is revocable". (FRAME_WAIT would wait: the
		 * harness does not make that call, model_would_block.)
		 */
		if (!free_frames(m)) {
			pressure = most_beyond(m, c->id) > 0;
			must(c, pressure ? E_AGAIN : E_NOMEM);
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
	if (f < m->cfg.kernel_frames || f >= m->cfg.nframes || m->frame[f].table ||
	    m->frame[f].owner != MODEL_NONE)
		return fail(c, "allocated frame %llu, which was not free", (unsigned long long)f);
	m->frame[f].owner = c->id;
	return new_root(c, OBJ_FRAME, f, m->frame[f].gen);
}

static bool sys_frame_free(struct call *c)
{
	struct mcap *p = use(c, c->a[0], OBJ_FRAME, CAP_R_CTRL, true);
	if (p) {
		if (!p->root || c->m->frame[p->obj].owner != c->id)
			must(c, E_PERM);
		if (count_children(c->m, c->id, (uint32_t)c->a[0]))
			must(c, E_BUSY);
	}
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	/* "Deleting the root capability of a frame frees the frame (same as FRAME_FREE)." */
	delete_cap(c->m, c->id, (uint32_t)c->a[0]);
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
	unsigned rights = CAP_R_MAP | CAP_R_READ | (prot & PROT_W ? CAP_R_WRITE : 0) |
	                  (prot & PROT_X ? CAP_R_EXEC : 0);
	struct mcap *p = use(c, c->a[0], OBJ_FRAME, rights, true);
	if (p && p->va)
		must(c, E_BUSY);
	if (va % PAGE == 0 && in_user(va, PAGE) && binding(c->e, va))
		must(c, E_EXIST);
	/* E_NOMEM (page table): the model does not count tables; short of frames, allowed. */
	if (free_frames(c->m) < 3)
		c->may |= BIT(E_NOMEM);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
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
	unbind(c->m, c->id, p);
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
	 * only way a CLOCK-like policy, DESIGN.md's reason for READ_AD, can
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
	if (table_full(c->e))
		must(c, E_NOMEM);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret >= CAP_SLOTS || c->e->caps[c->ret].type)
		return fail(c, "returned slot %lld, which was not free", (long long)c->ret);
	/* "Mint can only remove rights"; badge 0 keeps the parent's. */
	c->e->caps[c->ret] = (struct mcap){
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
		if (count_children(m, c->id, (uint32_t)slot) || p->va)
			must(c, E_BUSY);
	}
	/*
	 * Docs silent: the depth limit on a copy (a child, one level deeper).
	 * Decided: the same limit as mint (E_RANGE past depth 32).
	 */
	if (p && !move && p->depth + 1 > MAX_DEPTH)
		must(c, E_RANGE);
	if (t && table_full(t))
		must(c, E_NOMEM);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret >= CAP_SLOTS || t->caps[c->ret].type)
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
	t->caps[c->ret] = n;
	return true;
}

static bool sys_cap_revoke(struct call *c)
{
	struct model *m = c->m;
	uint64_t slot = c->a[0];
	if (slot >= CAP_SLOTS || !c->e->caps[slot].type) {
		must(c, E_BADSLOT);
		return judge(c) != JUDGE_BAD;
	}
	static struct ref d[MODEL_ENVS * 4];
	unsigned nd = descendants(m, c->id, (uint32_t)slot, d, 0, sizeof(d) / sizeof(d[0]));
	if (nd <= REVOKE_BATCH) {
		if (c->ret != 0)
			return fail(c,
			            "returned %s with %u descendants: the docs say 0 (all deleted)",
			            c->ret < 0 ? err_name((int)c->ret) : "a positive value", nd);
		/* Every descendant goes; the capability itself stays. */
		struct ref ch;
		while (first_child(m, c->id, (uint32_t)slot, &ch))
			delete_tree(m, ch.env, ch.slot);
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
			struct ref up = {ck->penv, ck->pslot};
			bool below = false;
			for (unsigned guard = 0; guard <= MAX_DEPTH + 1 && !below; guard++) {
				if (up.env == d[i].env && up.slot == d[i].slot)
					below = true;
				else if (up.env == c->id && up.slot == slot)
					break;
				else {
					const struct mcap *u = &m->env[up.env].caps[up.slot];
					up = (struct ref){u->penv, u->pslot};
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
			delete_cap(m, d[i].env, d[i].slot);
	return true;
}

static bool sys_cap_delete(struct call *c)
{
	uint64_t slot = c->a[0];
	if (slot >= CAP_SLOTS || !c->e->caps[slot].type)
		must(c, E_BADSLOT);
	else if (count_children(c->m, c->id, (uint32_t)slot))
		must(c, E_BUSY);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	delete_cap(c->m, c->id, (uint32_t)slot);
	return true;
}

static bool sys_cap_inspect(struct call *c)
{
	uint64_t slot = c->a[0], out = c->a[1];
	if (slot >= CAP_SLOTS || !c->e->caps[slot].type)
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
	info_of(c->m, c->id, (uint32_t)slot, &want, count_children(c->m, c->id, (uint32_t)slot));
	return info_same(&got, &want, c->why, c->n, "the cap_info written to user memory");
}

static bool sys_env_create(struct call *c)
{
	struct model *m = c->m;
	uint64_t core = c->a[0];
	if (core >= m->cfg.ncores)
		must(c, E_INVAL);
	/* No frame for its page tables, no free environment, or a full table: E_NOMEM. */
	if (table_full(c->e) || !free_frames(m) || live_envs(m) == MODEL_ENVS)
		must(c, E_NOMEM);
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	uint64_t id;
	if (!chosen(c, OBJ_ENV, &id))
		return false;
	if (id >= MODEL_ENVS || m->env[id].live)
		return fail(c, "created env %llu, which was in use", (unsigned long long)id);
	new_env(m, (uint32_t)id, (unsigned)core);
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
	destroy(c->m, (uint32_t)p->obj);
	return true;
}

static bool sys_env_status(struct call *c)
{
	struct mcap *p = use(c, c->a[0], OBJ_ENV, 0, true);
	if (p && !stale(c->m, p))
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
	if (table_full(c->e))
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

static bool sys_slot_free(struct call *c)
{
	struct mcap *p = use(c, c->a[0], OBJ_SLOT, CAP_R_CTRL, true);
	if (p) {
		if (!p->root)
			must(c, E_PERM);
		if (count_children(c->m, c->id, (uint32_t)c->a[0]))
			must(c, E_BUSY);
	}
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	delete_cap(c->m, c->id, (uint32_t)c->a[0]);
	return true;
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
	if (table_full(c->e) || live == MODEL_EPS)
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
	note(m->ep_used, &m->nep_used, (uint32_t)id);
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
	uint64_t taken[MODEL_FRAMES], most = most_beyond(m, c->id);
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
	uint64_t want = frame != FRAME_ANY ? 1 : MIN(count, beyond_guarantee(m, victim));
	if (nt != want || (frame != FRAME_ANY && taken[0] != frame))
		return fail(c, "took %u frames (first %lld) from env %u; the docs say %llu%s", nt,
		            nt ? (long long)taken[0] : -1LL, victim, (unsigned long long)want,
		            frame != FRAME_ANY ? " (the frame named)" : " beyond its guarantee");
	if (c->ret == E_AGAIN && (victim == c->id || beyond_guarantee(m, victim) < most))
		return fail(c,
		            "memory pressure took from env %u, not another one holding the most "
		            "revocable frames (%llu beyond its guarantee)",
		            victim, (unsigned long long)most);
	struct menv *v = &m->env[victim];
	for (unsigned i = 0; i < nt; i++) {
		uint64_t f = taken[i];
		uint32_t root = MODEL_NONE;
		for (uint32_t s = 0; s < CAP_SLOTS && root == MODEL_NONE; s++)
			if (v->caps[s].type == OBJ_FRAME && v->caps[s].root &&
			    v->caps[s].obj == f && !stale(m, &v->caps[s]))
				root = s;
		if (root == MODEL_NONE)
			return fail(c,
			            "took frame %llu, whose root capability env %u does not hold",
			            (unsigned long long)f, victim);
		struct ref ch;
		while (first_child(m, victim, root, &ch))
			delete_tree(m, ch.env, ch.slot);
		unbind(m, victim, &v->caps[root]);
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
	if (t && !beyond_guarantee(m, tid))
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
	int j = judge(c);
	if (j != JUDGE_PERFORM)
		return j == JUDGE_ERROR_OK;
	if (c->ret != 0)
		return fail(c, "returned %lld, not 0", (long long)c->ret);
	t->guarantee = c->a[1];
	return true;
}

#define NOTIFY_BITS (~0ULL >> 1) /* "63 of them": a non-negative result */

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
	       !table_full(&m->env[env]) && !free_frames(m) && most_beyond(m, env) > 0;
}

bool model_call(struct model *m, uint32_t env, uint64_t nr, const uint64_t a[6], int64_t ret,
                char *why, size_t n)
{
	struct call c = {
	    .m = m, .id = env, .e = &m->env[env], .a = a, .ret = ret, .why = why, .n = n};
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
		return ret == (int64_t)free_frames(m) ||
		       fail(&c, "returned %lld free frames, the model counts %llu", (long long)ret,
		            (unsigned long long)free_frames(m));
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
	case SYS_NOTIFY_TAKE: {
		int64_t want = (int64_t)(c.e->notify & NOTIFY_BITS);
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

/* ---- set-up, and comparing with the kernel ---- */

void model_init(struct model *m, const struct model_config *cfg, const struct model_kernel *k)
{
	m->cfg = *cfg;
	m->k = *k;
	m->nenv_used = m->nep_used = 0;
	/* Generations start wherever the kernel's are: adopt them; caps[] is cleared lazily. */
	for (uint32_t i = 0; i < MODEL_ENVS; i++) {
		unsigned home;
		set_live(m, i, false);
		k->env(k->ctx, i, &m->env[i].gen, &home);
	}
	for (uint64_t f = 0; f < cfg->nframes; f++) {
		uint32_t owner;
		m->frame[f].owner = MODEL_NONE;
		m->frame[f].table = k->frame(k->ctx, f, &owner, &m->frame[f].gen) == MF_KERNEL;
		m->frame[f].fixed = m->frame[f].table && owner == MODEL_NONE;
	}
	for (unsigned c = 0; c < cfg->ncores; c++)
		for (unsigned i = 0; i < MODEL_TSLOTS; i++) {
			m->tslot[c][i].owner = MODEL_NONE;
			k->tslot(k->ctx, c, i, &m->tslot[c][i].gen);
		}
	for (uint32_t i = 0; i < MODEL_EPS; i++) {
		uint32_t owner;
		m->ep[i].live = false;
		k->ep(k->ctx, i, &owner, &m->ep[i].gen);
	}
}

void model_observe(struct model *m)
{
	for (uint64_t f = m->cfg.kernel_frames; f < m->cfg.nframes; f++) {
		if (m->frame[f].owner != MODEL_NONE || m->frame[f].fixed)
			continue;
		uint32_t owner;
		m->frame[f].table = m->k.frame(m->k.ctx, f, &owner, &m->frame[f].gen) == MF_KERNEL;
	}
}

void model_env_adopt(struct model *m, uint32_t id, unsigned home)
{
	new_env(m, id, home);
}

void model_env_destroy(struct model *m, uint32_t id)
{
	m->flush = 0;
	destroy(m, id);
}

uint64_t model_flushes(const struct model *m)
{
	return m->flush;
}

static bool differ(char *why, size_t n, const char *fmt, ...);

bool model_touch(struct model *m, uint32_t env, uint64_t va, bool write, int ret, char *why,
                 size_t n)
{
	struct mcap *b = in_user(va, 1) ? (struct mcap *)binding(&m->env[env], va) : NULL;
	int want = !b ? E_NOENT : write && !(b->prot & PROT_W) ? E_INVAL : E_OK;
	if (ret != want)
		return differ(why, n, "touching 0x%llx: the MMU said %s, the model %s",
		              (unsigned long long)va, err_name(ret), err_name(want));
	if (!ret)
		b->ad |= AD_ACCESSED | (write ? AD_DIRTY : 0);
	return true;
}

bool model_env_live(const struct model *m, uint32_t id)
{
	return id < MODEL_ENVS && m->env[id].live;
}

unsigned model_env_home(const struct model *m, uint32_t id)
{
	return m->env[id].home;
}

unsigned model_env_count(const struct model *m)
{
	return live_envs(m);
}

unsigned model_slots(const struct model *m, uint32_t env, unsigned type, uint32_t out[CAP_SLOTS])
{
	unsigned n = 0;
	for (uint32_t s = 0; s < CAP_SLOTS; s++) {
		uint8_t t = m->env[env].caps[s].type;
		if (t && (type == OBJ_NONE || t == type))
			out[n++] = s;
	}
	return n;
}

static bool differ(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return false;
}

/* Children of every capability of the live environments, in one pass. */
static void tally_children(struct model *m)
{
	for_each_live(m, i)
		memset(m->children[i], 0, sizeof(m->children[i]));
	for_each_live(m, i) {
		for (uint32_t s = 0; s < CAP_SLOTS; s++) {
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
	static uint8_t used[CAP_SLOTS];
	k->slots_used(k->ctx, id, used);
	for (uint32_t s = 0; s < CAP_SLOTS; s++) {
		bool mine = e->caps[s].type != OBJ_NONE, theirs = used[s];
		if (!mine && !theirs)
			continue;
		struct cap_info got, want;
		if (k->inspect(k->ctx, id, s, &got) != 0)
			theirs = false;
		if (mine != theirs)
			return differ(why, n, "env %u slot %u: the kernel has %s, the model %s", id,
			              s, theirs ? "a capability" : "none",
			              mine ? "a capability" : "none");
		info_of(m, id, s, &want, m->children[id][s]);
		if (!info_same(&got, &want, NULL, 0, NULL)) {
			char where[48]; /* named only when it is needed: this runs for every slot */
			snprintf(where, sizeof(where), "env %u slot %u", id, s);
			return info_same(&got, &want, why, n, where);
		}
		if (!e->caps[s].va)
			continue;
		/* The binding is a mapping in the environment's page tables. */
		bound++;
		uint64_t frame;
		unsigned prot;
		if (k->query(k->ctx, id, e->caps[s].va, &frame, &prot) != 0)
			return differ(why, n,
			              "env %u slot %u: bound at 0x%llx, which is not mapped", id, s,
			              (unsigned long long)e->caps[s].va);
		unsigned want_prot =
		    1 | (e->caps[s].prot & PROT_W ? 2 : 0) | (e->caps[s].prot & PROT_X ? 4 : 0);
		if (frame != e->caps[s].obj || (prot & 7) != want_prot)
			return differ(
			    why, n,
			    "env %u slot %u: 0x%llx maps frame %llu prot %u, the model says "
			    "frame %llu prot %u",
			    id, s, (unsigned long long)e->caps[s].va, (unsigned long long)frame,
			    prot & 7, (unsigned long long)e->caps[s].obj, want_prot);
	}
	uint64_t maps = k->mappings(k->ctx, id);
	if (maps != bound)
		return differ(why, n, "env %u has %llu mappings, the model %llu bindings", id,
		              (unsigned long long)maps, (unsigned long long)bound);
	static struct model_env_extra x;
	k->env_extra(k->ctx, id, &x);
	if (x.guarantee != e->guarantee || (x.notify & NOTIFY_BITS) != e->notify ||
	    x.nreposs != e->nreposs)
		return differ(
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
			return differ(why, n, "env %u is %s, the model says %s", id,
			              alive ? "alive" : "gone", e->live ? "alive" : "gone");
		if (gen != e->gen)
			return differ(why, n, "env %u has generation %llu, the model %llu", id,
			              (unsigned long long)gen, (unsigned long long)e->gen);
		if (alive && home != e->home)
			return differ(why, n, "env %u is homed on core %u, the model says %u", id,
			              home, e->home);
		if (alive && !check_env(m, id, why, n))
			return false;
	}
	if (k->env_count(k->ctx) != live_envs(m))
		return differ(why, n, "%u environments exist, the model has %u",
		              k->env_count(k->ctx), live_envs(m));
	for (uint64_t f = 0; f < m->cfg.nframes; f++) {
		uint32_t owner;
		uint64_t gen;
		enum model_frame st = k->frame(k->ctx, f, &owner, &gen);
		const struct mframe *mf = &m->frame[f];
		if (f < m->cfg.kernel_frames || mf->fixed) {
			if (st != MF_KERNEL || owner != MODEL_NONE)
				return differ(why, n, "frame %llu of the kernel changed hands",
				              (unsigned long long)f);
		} else if (mf->owner != MODEL_NONE) {
			if (st != MF_OWNED || owner != mf->owner || gen != mf->gen)
				return differ(
				    why, n,
				    "frame %llu: state %d owner %u gen %llu; the model says "
				    "owned by %u gen %llu",
				    (unsigned long long)f, st, owner, (unsigned long long)gen,
				    mf->owner, (unsigned long long)mf->gen);
		} else if (st != MF_FREE && st != MF_KERNEL) {
			return differ(why, n,
			              "frame %llu is in state %d (owner %u), the model says free",
			              (unsigned long long)f, st, owner);
		} else if (st == MF_KERNEL && (owner == MODEL_NONE || !m->env[owner].live)) {
			/* A page table charged to nobody, or to an environment that is gone. */
			return differ(why, n,
			              "frame %llu is the kernel's, charged to %u (not a live env)",
			              (unsigned long long)f, owner);
		}
	}
	for (unsigned c = 0; c < m->cfg.ncores; c++)
		for (unsigned i = 0; i < MODEL_TSLOTS; i++) {
			uint64_t gen;
			uint32_t owner = k->tslot(k->ctx, c, i, &gen);
			const struct mtslot *t = &m->tslot[c][i];
			if (owner != t->owner || gen != t->gen)
				return differ(
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
			return differ(
			    why, n,
			    "endpoint %u: %s owner %d gen %llu, the model says %s owner %d gen "
			    "%llu",
			    i, live ? "live" : "free", (int)owner, (unsigned long long)gen,
			    p->live ? "live" : "free", (int)p->owner, (unsigned long long)p->gen);
	}
	return true;
}
