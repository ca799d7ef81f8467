/*
 * The reference model (model.h): docs/syscalls.md read literally, as
 * plainly as C allows. Each call first collects every error the docs say
 * applies (judge() then accepts any of them, since the docs fix no order
 * between them), and only if the kernel succeeded performs the call.
 *
 * Three files: this one, the objects (environments, frames, time slots,
 * endpoints), derivation and the deletions every call shares, and setting
 * up; model_calls.c, the syscall mirrors; model_check.c, comparing the
 * model with the kernel. model_impl.h is what they share.
 *
 * Where the docs are silent or ambiguous and the model had to decide, the
 * comment says "Docs silent" or "Docs ambiguous"; fuzz/README.md lists
 * those decisions.
 */
#include "model_impl.h"

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
	case OBJ_BLOCKS: {
		int i = model_range_find(m, obj);
		return i < 0 ? ~0ULL : m->range[i].gen;
	}
	case OBJ_BPF:
		return obj < MODEL_BPF ? m->bpf[obj].gen : ~0ULL;
	}
	return ~0ULL;
}

int model_range_find(const struct model *m, uint64_t obj)
{
	for (unsigned i = 0; i < m->nranges; i++)
		if (m->range[i].first == (obj & 0xffffffffu) && m->range[i].count == obj >> 32)
			return (int)i;
	return -1;
}

/* Generations: a capability for an earlier incarnation of its object is stale. */
bool model_stale(const struct model *m, const struct mcap *c)
{
	return obj_gen(m, c->type, c->obj) != c->gen;
}

bool model_table_full(const struct menv *e)
{
	if (e->top < MODEL_SLOTS)
		return false;
	for (unsigned s = 0; s < MODEL_SLOTS; s++)
		if (!e->caps[s].type)
			return false;
	return true;
}

bool model_needs_page(const struct menv *e)
{
	for (unsigned s = 0; s < MODEL_SLOTS; s++)
		if (!e->caps[s].type)
			return !(e->pages >> (s / CAP_PAGE_SLOTS) & 1);
	return false;
}

bool model_no_slot(const struct model *m, const struct menv *e)
{
	return model_table_full(e) || (model_needs_page(e) && !model_free_frames(m));
}

struct mcap *model_fill(struct menv *e, uint32_t s)
{
	if (s >= e->top)
		e->top = s + 1;
	e->pages |= 1u << (s / CAP_PAGE_SLOTS); /* its table page exists from now on */
	return &e->caps[s];
}

uint64_t model_free_frames(const struct model *m)
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
uint32_t model_next_live(const struct model *m, uint32_t from)
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

unsigned model_live_envs(const struct model *m)
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
uint64_t model_beyond_guarantee(const struct model *m, uint32_t id)
{
	uint64_t n = 0;
	for (uint64_t f = m->cfg.kernel_frames; f < m->cfg.nframes; f++)
		n += m->frame[f].owner == id;
	return n > m->env[id].guarantee ? n - m->env[id].guarantee : 0;
}

/* Tables id needs for its bindings: its root, and one per region at each level below. */
static uint64_t pt_needed(const struct model *m, uint32_t id)
{
	static const unsigned shift[3] = { 39, 30, 21 };
	uint64_t need = 1;
	const struct mcap *caps = m->env[id].caps;
	for (unsigned l = 0; l < 3; l++)
		for (uint32_t s = 0; s < MODEL_SLOTS; s++) {
			if (caps[s].type != OBJ_FRAME || !caps[s].va)
				continue;
			bool first = true; /* the first binding in its region counts it */
			for (uint32_t r = 0; r < s && first; r++)
				first = !(caps[r].type == OBJ_FRAME && caps[r].va &&
					  caps[r].va >> shift[l] == caps[s].va >> shift[l]);
			need += first;
		}
	return need;
}

/* Tables one reclaim takes at most (docs/kernel.md, "Page tables under pressure"). */
#define MODEL_PT_RECLAIM 16

uint64_t model_pt_reclaim_count(const struct model *m)
{
	/* The kernel's env_pt_reclaim_any: the first environment (in id order) with any. */
	for_each_live(m, i) {
		uint64_t tables = 0, owned = 0;
		for (uint64_t f = m->cfg.kernel_frames; f < m->cfg.nframes; f++) {
			tables += m->frame[f].table && m->frame[f].table_owner == i;
			owned += m->frame[f].owner == i;
		}
		/* Its capability table's pages are kernel frames of it too, never reclaimed. */
		uint64_t keep = pt_needed(m, i) + (uint64_t)__builtin_popcount(m->env[i].pages);
		uint64_t g = m->env[i].guarantee;
		if (tables > keep && owned + tables > g)
			return MIN(MIN((uint64_t)MODEL_PT_RECLAIM, tables - keep),
				   owned + tables - g);
	}
	return 0;
}

/*
 * The most revocable frames beyond its guarantee an environment other than
 * the caller holds. Docs ambiguous: "the kernel asks the environment
 * holding the most revocable frames beyond its guarantee" — read as another
 * environment than the one allocating (taking its own frame to hand it
 * back would be pointless), as the kernel does.
 */
uint64_t model_most_beyond(const struct model *m, uint32_t caller)
{
	uint64_t most = 0;
	for_each_live(m, i)
		if (i != caller && model_beyond_guarantee(m, i) > most)
			most = model_beyond_guarantee(m, i);
	return most;
}

void model_note(uint32_t *list, unsigned *n, uint32_t id)
{
	for (unsigned i = 0; i < *n; i++)
		if (list[i] == id)
			return;
	list[(*n)++] = id;
}

void model_new_env(struct model *m, uint32_t id, unsigned home)
{
	struct menv *e = &m->env[id];
	model_note(m->env_used, &m->nenv_used, id);
	set_live(m, id, true);
	e->home = home;
	e->guarantee = e->notify = e->notify_maybe = 0;
	e->nreposs = 0;
	e->pages = 0;
	e->top = 0;
	memset(e->caps, 0, sizeof(e->caps));
}

/* ---- derivation: parent links, found by scanning every table ---- */

static bool is_child(const struct mcap *c, uint32_t env, uint32_t slot)
{
	return c->type && !c->root && c->penv == env && c->pslot == slot;
}

/* Some child of (env, slot), if there is one. */
bool model_first_child(const struct model *m, uint32_t env, uint32_t slot, struct ref *out)
{
	for_each_live(m, i) {
		for (uint32_t s = 0; s < m->env[i].top; s++)
			if (is_child(&m->env[i].caps[s], env, slot)) {
				*out = (struct ref){i, s};
				return true;
			}
	}
	return false;
}

unsigned model_count_children(const struct model *m, uint32_t env, uint32_t slot)
{
	unsigned n = 0;
	for_each_live(m, i)
		for (uint32_t s = 0; s < m->env[i].top; s++)
			n += is_child(&m->env[i].caps[s], env, slot);
	return n;
}

/* Every descendant of (env, slot), parents before their children; returns how many. */
unsigned model_descendants(const struct model *m, uint32_t env, uint32_t slot, struct ref *out,
			   unsigned n, unsigned max)
{
	for_each_live(m, i) {
		for (uint32_t s = 0; s < m->env[i].top; s++)
			if (is_child(&m->env[i].caps[s], env, slot) && n < max) {
				out[n++] = (struct ref){i, s};
				n = model_descendants(m, i, s, out, n, max);
			}
	}
	return n;
}

/* The object behind a root capability goes away with it (docs: "Delete"). */
static void release(struct model *m, unsigned type, uint64_t obj)
{
	switch (type) {
	case OBJ_FRAME:
		m->frame[obj].owner = MODEL_NONE;
		m->frame[obj].gen++;
		break;
	case OBJ_ENV:
		model_destroy(m, (uint32_t)obj);
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
	case OBJ_BLOCKS: {
		/* "delete ... the root to give the blocks back" (docs/disk.md). */
		int i = model_range_find(m, obj);
		if (i >= 0) {
			memmove(&m->range[i], &m->range[i + 1],
				(m->nranges - (unsigned)i - 1) * sizeof(m->range[0]));
			m->nranges--;
		}
		break;
	}
	case OBJ_BPF: /* deleting the root detaches the program and frees it */
		m->bpf[obj].live = false;
		m->bpf[obj].gen++;
		break;
	}
}

/*
 * A binding goes: "Deleting or revoking a capability removes its binding
 * (with a TLB flush on the home core of the environment that had it)".
 */
void model_unbind(struct model *m, uint32_t env, struct mcap *c)
{
	if (c->va)
		m->flush |= 1ULL << m->env[env].home;
	c->va = 0;
	c->prot = 0;
	c->ad = 0;
}

/* Delete one capability with no children: its binding goes, and a live root's object. */
void model_delete_cap(struct model *m, uint32_t env, uint32_t slot)
{
	model_unbind(m, env, &m->env[env].caps[slot]);
	struct mcap c = m->env[env].caps[slot];
	memset(&m->env[env].caps[slot], 0, sizeof(c));
	if (c.root && !model_stale(m, &c))
		release(m, c.type, c.obj);
}

/* Delete a capability and everything derived from it, deepest first. */
void model_delete_tree(struct model *m, uint32_t env, uint32_t slot)
{
	struct ref ch;
	while (model_first_child(m, env, slot, &ch))
		model_delete_tree(m, ch.env, ch.slot);
	if (m->env[env].caps[slot].type)
		model_delete_cap(m, env, slot);
}

/*
 * Destroy (docs: "Destroy deletes every capability of the environment
 * (revoking what others derived from them), frees every frame it owned and
 * its page tables"). Frames it owned are exactly those whose root caps it
 * held, so deleting its capabilities frees them; deleting a root env cap
 * destroys that environment in turn.
 */
void model_destroy(struct model *m, uint32_t id)
{
	struct menv *x = &m->env[id];
	if (!x->live)
		return;
	x->gen++;
	for (uint32_t s = 0; s < x->top; s++)
		if (x->caps[s].type)
			model_delete_tree(m, id, s);
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
	/* docs/syscalls.md: "Requests of an environment that ends are finished and dropped." */
	for (unsigned i = 0; i < MODEL_REQS; i++)
		if (m->req[i].live && m->req[i].env == id)
			m->req[i].live = false;
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
		m->frame[f].table_owner = m->frame[f].table ? owner : MODEL_NONE;
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
	m->nranges = 0;
	m->range_gen_seen = 0;
	memset(m->req, 0, sizeof(m->req));
	for (unsigned i = 0; i < MODEL_BPF; i++)
		m->bpf[i] = (struct mbpf){ .gen = k->bpf_gen(k->ctx, i) };
}

void model_observe(struct model *m)
{
	for (uint64_t f = m->cfg.kernel_frames; f < m->cfg.nframes; f++) {
		if (m->frame[f].owner != MODEL_NONE || m->frame[f].fixed)
			continue;
		uint32_t owner;
		m->frame[f].table = m->k.frame(m->k.ctx, f, &owner, &m->frame[f].gen) == MF_KERNEL;
		m->frame[f].table_owner = m->frame[f].table ? owner : MODEL_NONE;
	}
}

void model_env_adopt(struct model *m, uint32_t id, unsigned home)
{
	model_new_env(m, id, home);
}

void model_env_destroy(struct model *m, uint32_t id)
{
	m->flush = 0;
	model_destroy(m, id);
}

uint64_t model_flushes(const struct model *m)
{
	return m->flush;
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
	return model_live_envs(m);
}

unsigned model_slots(const struct model *m, uint32_t env, unsigned type, uint32_t out[MODEL_SLOTS])
{
	unsigned n = 0;
	for (uint32_t s = 0; s < m->env[env].top; s++) {
		uint8_t t = m->env[env].caps[s].type;
		if (t && (type == OBJ_NONE || t == type))
			out[n++] = s;
	}
	return n;
}
