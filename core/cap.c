/*
 * Capability tables and derivation trees (see exo/cap.h).
 *
 * Every capability of an object is a node in that object's derivation tree,
 * linked through the slots (parent, first child, siblings), and guarded by
 * the object's tree lock. A slot's type is written last when it is filled
 * and first when it is emptied, so a reader that sees a type sees a whole
 * capability once it holds the tree lock and has checked the slot again.
 *
 * What differs between object types — generation, what a deleted root gives
 * up, what a capability holds beyond its slot — comes from the object-type
 * table (exo/obj.h): this file names no object's file. Environments are the
 * exception it cannot avoid: they hold the tables.
 */
#include <exo/cap.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/kprintf.h>
#include <exo/obj.h>
#include <exo/plant.h>
#include <exo/spinlock.h>
#include <ipi.h>

#define TREE_LOCKS 256

static struct spinlock tree_locks[TREE_LOCKS];

static struct spinlock *tree_lock(unsigned type, uint64_t obj)
{
	return &tree_locks[(obj * 2654435761u + type) % TREE_LOCKS];
}

static void lock(struct spinlock *l) NO_THREAD_SAFETY_ANALYSIS { spin_lock(l); }
static void unlock(struct spinlock *l) NO_THREAD_SAFETY_ANALYSIS { spin_unlock(l); }

static bool ref_none(struct cap_ref r) { return r.env == CAP_NO_SLOT; }
static bool ref_eq(struct cap_ref a, struct cap_ref b) { return a.env == b.env && a.slot == b.slot; }

/* The slot a reference names (the env table is static: never NULL for a valid id). */
static struct cap *at(struct cap_ref r) { return &env_lookup(r.env)->caps[r.slot]; }

static uint8_t slot_type(const struct cap *c) { return __atomic_load_n(&c->type, __ATOMIC_ACQUIRE); }

/* The current generation of an object, to compare with a capability's. */
static uint64_t obj_gen(unsigned type, uint64_t obj)
{
	return obj_types[type]->gen(obj);
}

static bool stale(const struct cap *c) { return obj_gen(c->type, c->obj) != c->gen; }

/*
 * Lock the tree of the capability in e's slot. On success the lock is held,
 * *cp is the slot and *lp the lock. The slot is re-checked under the lock:
 * another core may have emptied or refilled it in between.
 */
static int slot_lock(struct env *e, uint32_t slot, struct cap **cp, struct spinlock **lp)
{
	if (slot >= CAP_SLOTS)
		return E_BADSLOT;
	struct cap *c = &e->caps[slot];
	for (;;) {
		uint8_t type = slot_type(c);
		if (type == OBJ_NONE || type == CAP_RESERVED)
			return E_BADSLOT;
		uint64_t obj = __atomic_load_n(&c->obj, __ATOMIC_RELAXED);
		struct spinlock *l = tree_lock(type, obj);
		lock(l);
		if (c->type == type && c->obj == obj) {
			*cp = c;
			*lp = l;
			return E_OK;
		}
		unlock(l);
	}
}

/* Claim a free slot of e (atomically; no lock). E_NOMEM if the table is full. */
static int slot_claim(struct env *e, uint32_t *slot)
{
	for (uint32_t s = 0; s < CAP_SLOTS; s++) {
		uint8_t expect = OBJ_NONE;
		if (__atomic_compare_exchange_n(&e->caps[s].type, &expect, CAP_RESERVED, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			*slot = s;
			return E_OK;
		}
	}
	return E_NOMEM;
}

/*
 * Claim a slot in an environment that may be being destroyed: after the
 * claim, check it is alive. env_destroy marks it dying first and then waits
 * for reserved slots to be filled, so either we see it dying and back out,
 * or it sees our capability and deletes it.
 */
static int slot_claim_alive(struct env *to, uint32_t *slot)
{
	int err = slot_claim(to, slot);
	if (err)
		return err;
	if (!env_alive(to)) {
		__atomic_store_n(&to->caps[*slot].type, OBJ_NONE, __ATOMIC_RELEASE);
		return E_STALE;
	}
	return E_OK;
}

/* Fill a claimed slot and publish it (type last). Tree lock held. */
static void slot_fill(struct cap *dst, const struct cap *src, uint8_t type)
{
	dst->rights = src->rights;
	dst->depth = src->depth;
	dst->flags = src->flags;
	dst->badge = src->badge;
	dst->obj = src->obj;
	dst->gen = src->gen;
	dst->parent = src->parent;
	dst->first_child = src->first_child;
	dst->next_sibling = src->next_sibling;
	dst->prev_sibling = src->prev_sibling;
	dst->bound_va = src->bound_va;
	__atomic_store_n(&dst->type, type, __ATOMIC_RELEASE);
}

/* Link child (already filled) as the first child of parent. Tree lock held. */
static void link_child(struct cap_ref parent, struct cap_ref child)
{
	struct cap *p = at(parent), *c = at(child);
	c->parent = parent;
	c->prev_sibling = CAP_REF_NONE;
	c->next_sibling = p->first_child;
	if (!ref_none(p->first_child))
		at(p->first_child)->prev_sibling = child;
	p->first_child = child;
}

/* Take node out of its parent's child list. Tree lock held. */
static void unlink_node(struct cap_ref node)
{
	struct cap *c = at(node);
	if (!ref_none(c->prev_sibling))
		at(c->prev_sibling)->next_sibling = c->next_sibling;
	else if (!ref_none(c->parent))
		at(c->parent)->first_child = c->next_sibling;
	if (!ref_none(c->next_sibling))
		at(c->next_sibling)->prev_sibling = c->prev_sibling;
	c->parent = c->next_sibling = c->prev_sibling = CAP_REF_NONE;
}

int cap_reserve(struct env *e, uint32_t *slot) { return slot_claim(e, slot); }

void cap_unreserve(struct env *e, uint32_t slot)
{
	__atomic_store_n(&e->caps[slot].type, OBJ_NONE, __ATOMIC_RELEASE);
}

void cap_fill_root(struct env *e, uint32_t slot, enum obj_type type, uint64_t obj, uint64_t gen,
		   unsigned rights, unsigned flags)
{
	struct cap c = { .rights = (uint8_t)(rights & CAP_R_ALL), .flags = (uint8_t)flags,
			 .obj = obj, .gen = gen,
			 .parent = CAP_REF_NONE, .first_child = CAP_REF_NONE,
			 .next_sibling = CAP_REF_NONE, .prev_sibling = CAP_REF_NONE };
	struct spinlock *l = tree_lock(type, obj);
	lock(l);
	slot_fill(&e->caps[slot], &c, (uint8_t)type);
	unlock(l);
}

int cap_insert_root(struct env *e, enum obj_type type, uint64_t obj, uint64_t gen,
		    unsigned rights, uint32_t *slot)
{
	int err = cap_reserve(e, slot);
	if (!err)
		cap_fill_root(e, *slot, type, obj, gen, rights, 0);
	return err;
}

/* The checks every use of a capability makes, in this order. Tree lock held. */
static int check(const struct cap *c, enum obj_type type, unsigned rights)
{
	if (type != OBJ_NONE && c->type != type)
		return E_TYPE;
	if ((c->rights & rights) != rights)
		return E_PERM;
	/*
	 * The generation, and whether the object is being taken (a frame, by
	 * the abort protocol: it gets no new binding or derivation while its
	 * generation has not moved yet; models/revoke.pml, BUG_GEN_ONLY_CHECK).
	 * The planted bug skips the generation only.
	 */
	const struct obj_ops *ops = obj_types[c->type];
	uint64_t gen = PLANTED(PLANT_NO_GEN_CHECK) ? ops->gen(c->obj) : c->gen;
	if (ops->valid)
		return ops->valid(c->obj, gen);
	return ops->gen(c->obj) == gen ? E_OK : E_STALE;
}

int cap_get(struct env *e, uint32_t slot, enum obj_type type, unsigned rights, struct cap *out)
{
	struct cap *c;
	struct spinlock *l;
	int err = slot_lock(e, slot, &c, &l);
	if (err)
		return err;
	err = check(c, type, rights);
	if (!err)
		*out = *c;
	unlock(l);
	return err;
}

/* Make a child of (e, slot) in `to` with the given rights and badge. */
static int derive(struct env *e, uint32_t slot, struct env *to, unsigned rights, uint32_t badge,
		  uint32_t *new_slot)
{
	struct cap *c;
	struct spinlock *l;
	int err = slot_lock(e, slot, &c, &l);
	if (err)
		return err;
	if ((err = check(c, OBJ_NONE, CAP_R_GRANT)))
		goto out;
	/* Depths 1..CAP_MAX_DEPTH are allowed (cap.h; docs/syscalls.md: E_RANGE past 32). */
	if (c->depth + 1 > CAP_MAX_DEPTH) {
		err = E_RANGE;
		goto out;
	}
	if (badge && c->badge) {
		err = E_PERM; /* a badge, once set, is fixed for every descendant */
		goto out;
	}
	uint32_t s;
	if ((err = slot_claim_alive(to, &s)))
		goto out;
	struct cap child = *c;
	child.rights = (uint8_t)(PLANTED(PLANT_MINT_RIGHTS) ? rights : (c->rights & rights));
	child.badge = badge ? badge : c->badge;
	child.depth = (uint8_t)(c->depth + 1);
	child.flags = 0;
	child.first_child = CAP_REF_NONE;
	child.bound_va = 0;
	slot_fill(&to->caps[s], &child, c->type);
	link_child((struct cap_ref){ e->id, slot }, (struct cap_ref){ to->id, s });
	*new_slot = s;
out:
	unlock(l);
	return err;
}

int cap_mint(struct env *e, uint32_t slot, unsigned rights, uint32_t badge, uint32_t *new_slot)
{
	if (rights & ~CAP_R_ALL)
		return E_INVAL;
	return derive(e, slot, e, rights, badge, new_slot);
}

int cap_grant(struct env *from, uint32_t slot, struct env *to, bool move, uint32_t *new_slot)
{
	if (!move)
		return derive(from, slot, to, CAP_R_ALL, 0, new_slot);
	struct cap *c;
	struct spinlock *l;
	int err = slot_lock(from, slot, &c, &l);
	if (err)
		return err;
	if ((err = check(c, OBJ_NONE, CAP_R_GRANT)))
		goto out;
	/*
	 * Only a leaf that is not the root and not bound moves: the root stands
	 * for ownership, children would need relinking, and a binding belongs to
	 * the source's address space.
	 */
	if (ref_none(c->parent)) {
		err = E_PERM;
		goto out;
	}
	if (!ref_none(c->first_child) || c->bound_va) {
		err = E_BUSY;
		goto out;
	}
	uint32_t s;
	if ((err = slot_claim_alive(to, &s)))
		goto out;
	struct cap_ref parent = c->parent;
	struct cap moved = *c;
	unlink_node((struct cap_ref){ from->id, slot });
	__atomic_store_n(&c->type, OBJ_NONE, __ATOMIC_RELEASE);
	slot_fill(&to->caps[s], &moved, moved.type);
	link_child(parent, (struct cap_ref){ to->id, s });
	*new_slot = s;
out:
	unlock(l);
	return err;
}

/* Remove node's binding and empty its slot; the caller unlinked it. Tree lock held. */
static void erase(struct cap_ref node)
{
	struct cap *c = at(node);
	if (c->bound_va)
		obj_types[c->type]->unbind(env_lookup(node.env), c);
	__atomic_store_n(&c->type, OBJ_NONE, __ATOMIC_RELEASE);
}

int cap_revoke(struct env *e, uint32_t slot)
{
	struct cap *c;
	struct spinlock *l;
	int err = slot_lock(e, slot, &c, &l);
	if (err)
		return err;
	/* Delete leaves, deepest first, at most a batch per call. */
	for (unsigned done = 0; !ref_none(c->first_child); done++) {
		if (done == CAP_REVOKE_BATCH) {
			unlock(l);
			return E_AGAIN;
		}
		struct cap_ref leaf = c->first_child;
		while (!PLANTED(PLANT_REVOKE_SHALLOW) && !ref_none(at(leaf)->first_child))
			leaf = at(leaf)->first_child;
		unlink_node(leaf);
		erase(leaf);
	}
	unlock(l);
	return E_OK;
}

int cap_delete(struct env *e, uint32_t slot)
{
	struct cap *c;
	struct spinlock *l;
	int err = slot_lock(e, slot, &c, &l);
	if (err)
		return err;
	if (!ref_none(c->first_child)) {
		unlock(l);
		return E_BUSY;
	}
	struct cap gone = *c;
	bool root = ref_none(c->parent);
	unlink_node((struct cap_ref){ e->id, slot });
	erase((struct cap_ref){ e->id, slot });
	unlock(l);

	/* A root stands for the object itself: deleting it gives the object up. */
	if (root && obj_types[gone.type]->root_deleted)
		obj_types[gone.type]->root_deleted(e, gone.obj, gone.gen);
	return E_OK;
}

/* Is c the root capability of a frame a revocation may take? */
static bool revocable_root(const struct cap *c)
{
	return c->type == OBJ_FRAME && (c->flags & CAP_F_REVOCABLE) && ref_none(c->parent) &&
	       !stale(c);
}

/*
 * Counts e's revocable frames, stopping as soon as the count passes limit;
 * lists the first max in frames (when not NULL) and puts frame's slot in
 * *slot (when not NULL) if frame is one of them. One walk serves the three
 * questions below, each slot read under its lock.
 */
static uint64_t revocable_walk(struct env *e, uint64_t limit, uint64_t *frames, unsigned max,
			       uint64_t frame, int *slot)
{
	uint64_t n = 0;
	for (uint32_t s = 0; s < CAP_SLOTS && n <= limit; s++) {
		struct cap *c;
		struct spinlock *l;
		if (slot_lock(e, s, &c, &l) != E_OK)
			continue;
		if (revocable_root(c)) {
			if (frames && n < max)
				frames[n] = c->obj;
			if (slot && c->obj == frame)
				*slot = (int)s;
			n++;
		}
		unlock(l);
	}
	return n;
}

unsigned cap_revocable_frames(struct env *e, uint64_t *frames, unsigned max)
{
	return (unsigned)revocable_walk(e, UINT64_MAX, frames, max, 0, NULL);
}

unsigned cap_revocable_find(struct env *e, uint64_t frame, int *slot)
{
	*slot = -1;
	return (unsigned)revocable_walk(e, UINT64_MAX, NULL, 0, frame, slot);
}

bool cap_revocable_more_than(struct env *e, uint64_t k)
{
	return revocable_walk(e, k, NULL, 0, 0, NULL) > k;
}

bool cap_is_root_of(struct env *e, uint64_t slot, uint64_t frame, uint64_t gen, bool *revocable)
{
	struct cap *c;
	struct spinlock *l;
	if (slot >= CAP_SLOTS || slot_lock(e, (uint32_t)slot, &c, &l) != E_OK)
		return false;
	bool yes = c->type == OBJ_FRAME && c->obj == frame && ref_none(c->parent) && c->gen == gen;
	*revocable = yes && (c->flags & CAP_F_REVOCABLE) && !stale(c);
	unlock(l);
	return yes;
}

int cap_inspect(struct env *e, uint32_t slot, struct cap_info *out)
{
	struct cap *c;
	struct spinlock *l;
	int err = slot_lock(e, slot, &c, &l);
	if (err)
		return err;
	unsigned children = 0;
	for (struct cap_ref r = c->first_child; !ref_none(r); r = at(r)->next_sibling)
		children++;
	*out = (struct cap_info){
		.type = c->type, .rights = c->rights, .badge = c->badge, .object = c->obj,
		.gen = c->gen, .parent_env = c->parent.env, .parent_slot = c->parent.slot,
		.depth = c->depth, .children = children, .bound_va = c->bound_va,
	};
	unlock(l);
	return E_OK;
}

void cap_table_clear(struct env *e)
{
	for (uint32_t s = 0; s < CAP_SLOTS; s++) {
		uint8_t t;
		/* A grant that claimed a slot before e began dying fills it: wait. */
		while ((t = slot_type(&e->caps[s])) == CAP_RESERVED)
			percpu_wait_step(false);
		if (t == OBJ_NONE)
			continue;
		while (cap_revoke(e, s) == E_AGAIN)
			;
		(void)cap_delete(e, s);
	}
}

int cap_bind(struct env *e, uint32_t slot, uint64_t va, unsigned prot)
{
	unsigned need = (PLANTED(PLANT_MAP_NO_RIGHT) ? 0 : CAP_R_MAP) | CAP_R_READ |
			(prot & PROT_W ? CAP_R_WRITE : 0) | (prot & PROT_X ? CAP_R_EXEC : 0);
	/* W^X: no user page is both writable and executable (a JIT maps twice). */
	if ((prot & ~(PROT_R | PROT_W | PROT_X)) || ((prot & PROT_W) && (prot & PROT_X)))
		return E_INVAL;
	struct cap *c;
	struct spinlock *l;
	int err = slot_lock(e, slot, &c, &l);
	if (err)
		return err;
	if ((err = check(c, OBJ_FRAME, need)))
		goto out;
	if (c->bound_va) {
		err = E_BUSY;
		goto out;
	}
	if ((err = env_map(e, va, c->obj, prot)))
		goto out;
	c->bound_va = va;
out:
	unlock(l);
	return err;
}

int cap_unbind(struct env *e, uint32_t slot)
{
	struct cap *c;
	struct spinlock *l;
	int err = slot_lock(e, slot, &c, &l);
	if (err)
		return err;
	if (c->type != OBJ_FRAME)
		err = E_TYPE;
	else if (!c->bound_va)
		err = E_NOENT;
	else {
		env_unmap(e, c->bound_va);
		c->bound_va = 0;
	}
	unlock(l);
	return err;
}

/* One slot's links and contents. Returns problems found (printed). */
static unsigned check_slot(struct env *e, uint32_t s)
{
	struct cap *c = &e->caps[s];
	struct cap_ref self = { e->id, s };
	unsigned bad = 0;
#define BAD(...)                                                                 \
	do {                                                                     \
		kprintf("check: env %u slot %u: " __VA_ARGS__);                  \
		bad++;                                                           \
	} while (0)
	if (c->type >= OBJ_TYPES)
		BAD("bad type %u\n", e->id, s, c->type);
	if (c->rights & ~CAP_R_ALL)
		BAD("bad rights 0x%x\n", e->id, s, c->rights);
	if (!ref_none(c->parent)) {
		struct cap *p = at(c->parent);
		if (p->type != c->type || p->obj != c->obj)
			BAD("parent names another object\n", e->id, s);
		if (p->depth + 1 != c->depth)
			BAD("depth %u under a parent of depth %u\n", e->id, s, c->depth, p->depth);
		if ((c->rights & ~p->rights) != 0)
			BAD("rights 0x%x exceed the parent's 0x%x\n", e->id, s, c->rights, p->rights);
		bool listed = false;
		for (struct cap_ref r = p->first_child; !ref_none(r) && !listed; r = at(r)->next_sibling)
			listed = ref_eq(r, self);
		if (!listed)
			BAD("missing from its parent's child list\n", e->id, s);
	} else if (c->depth != 0) {
		BAD("a root at depth %u\n", e->id, s, c->depth);
	}
	if (!ref_none(c->next_sibling) && !ref_eq(at(c->next_sibling)->prev_sibling, self))
		BAD("next sibling does not point back\n", e->id, s);
	const struct obj_ops *ops = obj_ops(c->type);
	if (!ops && c->type < OBJ_TYPES)
		BAD("type %u has no row in the object table\n", e->id, s, c->type);
	else if (ops && ops->check)
		bad += ops->check(e, s, c);
#undef BAD
	return bad;
}

unsigned cap_check_env(struct env *e)
{
	unsigned bad = 0;
	for (uint32_t s = 0; s < CAP_SLOTS; s++) {
		uint8_t t = slot_type(&e->caps[s]);
		if (t == OBJ_NONE || t == CAP_RESERVED)
			continue;
		struct spinlock *l = tree_lock(t, e->caps[s].obj);
		lock(l);
		if (e->caps[s].type == t)
			bad += check_slot(e, s);
		unlock(l);
	}
	return bad;
}

unsigned cap_check_all(void)
{
	unsigned bad = 0;
	for (uint32_t id = 0; id < MAX_ENVS; id++) {
		struct env *e = env_lookup(id);
		if (e && __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != ENV_FREE)
			bad += cap_check_env(e);
	}
	return bad;
}
