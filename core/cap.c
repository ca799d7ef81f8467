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
 *
 * The tables themselves (struct cap_table): pages of slots reached through
 * cap_slot, and an index of claimed slots under the table's lock. A claim
 * takes the lowest free slot (what docs/syscalls.md promises and the
 * reference model checks), growing the table by a page when that slot's
 * page is not there yet; emptying a slot gives it back to the index.
 */
#include <arch/phys.h>
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

/* Slot s's page, and its bit in that page's word of the index. */
#define PAGE_OF(s) ((s) / CAP_PAGE_SLOTS)
#define BIT_OF(s) (1ULL << ((s) % CAP_PAGE_SLOTS))
/* Page p's bit in a per-page bitmap (nonfull, fresh). */
#define PWORD(p) ((p) / 64)
#define PBIT(p) (1ULL << ((p) % 64))

struct cap *cap_slot(struct env *e, uint32_t slot)
{
	if (slot >= CAP_SLOTS)
		return NULL;
	struct cap *page = __atomic_load_n(&e->caps.page[PAGE_OF(slot)], __ATOMIC_ACQUIRE);
	return page ? &page[slot % CAP_PAGE_SLOTS] : NULL;
}

/*
 * The slot a reference names. References link filled slots only, whose
 * pages stay until their environment's table is cleared: never NULL.
 */
static struct cap *at(struct cap_ref r)
{
	return cap_slot(env_lookup(r.env), r.slot);
}

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
	struct cap *c = cap_slot(e, slot); /* checks the bound first */
	if (!c)
		return E_BADSLOT; /* past CAP_SLOTS, or in a page not allocated: empty */
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

void cap_table_init(struct env *e)
{
	struct cap_table *t = &e->caps;
	t->lock = (struct spinlock)SPINLOCK_INIT;
	t->closed = false;
	t->readers = 0;
	t->npages = 0;
	for (unsigned p = 0; p < CAP_PAGES; p++) {
		t->used[p] = 0;
		t->revocable[p] = 0;
		t->page[p] = NULL;
		t->frame[p] = 0;
	}
	for (unsigned w = 0; w < CAP_PAGES / 64; w++) {
		t->nonfull[w] = ~0ULL; /* every page has free slots, allocated or not */
		t->fresh[w] = 0;
	}
}

/*
 * Allocate page p of e's table: a zeroed kernel frame (every slot empty),
 * charged to e and its ancestors like a page table. Marked fresh: if the
 * claim that grew it fails, the page goes with it. E_NOMEM: a limit, or no
 * frame. Table lock held.
 */
static int page_grow(struct env *e, unsigned p)
{
	struct cap_table *t = &e->caps;
	uint64_t frame;
	int err = env_kframe_alloc(e, &frame); /* E_AGAIN: no frame free (slot_claim) */
	if (err)
		return err;
	t->frame[p] = frame;
	t->npages++;
	__atomic_fetch_or(&t->fresh[PWORD(p)], PBIT(p), __ATOMIC_RELAXED);
	/* Published after the zeroing: a reader that sees the page sees empty slots. */
	__atomic_store_n(&t->page[p], (struct cap *)arch_phys_to_virt(pa_make(frame * PAGE_SIZE)),
			 __ATOMIC_SEQ_CST);
	return E_OK;
}

/* Give page p's frame back and uncharge it; nobody can reach the page. Table lock held. */
static void page_free(struct env *e, unsigned p)
{
	struct cap_table *t = &e->caps;
	uint64_t frame = t->frame[p];
	__atomic_store_n(&t->page[p], NULL, __ATOMIC_RELEASE);
	__atomic_fetch_and(&t->fresh[PWORD(p)], ~PBIT(p), __ATOMIC_RELAXED);
	t->npages--;
	(void)env_kframe_free(e, frame);
}

/*
 * A failed claim grew page p, which is empty again: free it, so the failed
 * call changed nothing. Unless a pinned reader may be looking at it (Dekker
 * with cap_table_pin: the page leaves the directory first): then it stays,
 * empty and charged, as if a call had grown it. Table lock held.
 */
static void page_undo(struct env *e, unsigned p)
{
	struct cap_table *t = &e->caps;
	struct cap *page = t->page[p];
	__atomic_store_n(&t->page[p], NULL, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&t->readers, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&t->page[p], page, __ATOMIC_RELEASE);
		__atomic_fetch_and(&t->fresh[PWORD(p)], ~PBIT(p), __ATOMIC_RELAXED);
		return;
	}
	page_free(e, p);
}

/*
 * Claim the lowest free slot of e (mark it CAP_RESERVED), growing the table
 * if its page is not there yet. E_NOMEM: the table is full (CAP_SLOTS) or
 * the page cannot be had; E_STALE: e is being destroyed.
 */
static int slot_claim_why(struct env *e, uint32_t *slot, bool *no_frame)
{
	struct cap_table *t = &e->caps;
	int err = E_NOMEM;
	lock(&t->lock);
	/* Dying (or closed): no claim, and no page grown for nothing. */
	if (__atomic_load_n(&t->closed, __ATOMIC_RELAXED) || !env_alive(e)) {
		unlock(&t->lock);
		return E_STALE;
	}
	for (unsigned w = 0; w < CAP_PAGES / 64; w++) {
		if (!t->nonfull[w])
			continue;
		unsigned p = w * 64 + (unsigned)__builtin_ctzll(t->nonfull[w]);
		if (!t->page[p] && (err = page_grow(e, p))) {
			*no_frame = err == E_AGAIN;
			err = E_NOMEM;
			break;
		}
		uint64_t used = t->used[p];
		unsigned i = (unsigned)__builtin_ctzll(~used); /* nonfull: some bit is clear */
		__atomic_store_n(&t->used[p], used | (1ULL << i), __ATOMIC_RELAXED);
		if ((used | (1ULL << i)) == ~0ULL)
			t->nonfull[w] &= ~PBIT(p);
		__atomic_store_n(&t->page[p][i].type, CAP_RESERVED, __ATOMIC_RELEASE);
		*slot = p * CAP_PAGE_SLOTS + i;
		err = E_OK;
		break;
	}
	unlock(&t->lock);
	return err;
}

static int slot_claim(struct env *e, uint32_t *slot)
{
	bool no_frame = false;
	return slot_claim_why(e, slot, &no_frame);
}

/*
 * Empty claimed slot s (its type is written last... here: NONE, release)
 * and give it back to the index. undo: the claim that made it failed (its
 * page goes too if that claim grew it).
 */
static void slot_release(struct env *e, uint32_t s, bool undo)
{
	struct cap_table *t = &e->caps;
	unsigned p = PAGE_OF(s);
	lock(&t->lock);
	__atomic_store_n(&t->page[p][s % CAP_PAGE_SLOTS].type, OBJ_NONE, __ATOMIC_RELEASE);
	uint64_t used = t->used[p] & ~BIT_OF(s);
	__atomic_fetch_and(&t->revocable[p], ~BIT_OF(s), __ATOMIC_RELAXED);
	__atomic_store_n(&t->used[p], used, __ATOMIC_RELAXED);
	t->nonfull[PWORD(p)] |= PBIT(p);
	if (undo && !used && (__atomic_load_n(&t->fresh[PWORD(p)], __ATOMIC_RELAXED) & PBIT(p)))
		page_undo(e, p);
	unlock(&t->lock);
}

bool cap_table_pin(struct env *e)
{
	__atomic_fetch_add(&e->caps.readers, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&e->caps.closed, __ATOMIC_SEQ_CST))
		return true;
	cap_table_unpin(e);
	return false;
}

void cap_table_unpin(struct env *e)
{
	__atomic_fetch_sub(&e->caps.readers, 1, __ATOMIC_SEQ_CST);
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
		slot_release(to, *slot, true);
		return E_STALE;
	}
	return E_OK;
}

/* Fill claimed slot s of e and publish it (type last). Tree lock held. */
static void slot_fill(struct env *e, uint32_t s, const struct cap *src, uint8_t type)
{
	struct cap *dst = cap_slot(e, s);
	/* The first slot of a page a claim grew: filled, the page is the call's for good. */
	if (s % CAP_PAGE_SLOTS == 0)
		__atomic_fetch_and(&e->caps.fresh[PWORD(PAGE_OF(s))], ~PBIT(PAGE_OF(s)),
				   __ATOMIC_RELAXED);
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

int cap_reserve_why(struct env *e, uint32_t *slot, bool *no_frame)
{
	*no_frame = false;
	return slot_claim_why(e, slot, no_frame);
}

void cap_unreserve(struct env *e, uint32_t slot)
{
	slot_release(e, slot, true);
}

void cap_fill_root(struct env *e, uint32_t slot, enum obj_type type, uint64_t obj, uint64_t gen,
		   unsigned rights, unsigned flags)
{
	struct cap c = { .rights = (uint8_t)(rights & CAP_R_ALL), .flags = (uint8_t)flags,
			 .obj = obj, .gen = gen,
			 .parent = CAP_REF_NONE, .first_child = CAP_REF_NONE,
			 .next_sibling = CAP_REF_NONE, .prev_sibling = CAP_REF_NONE };
	/* Marked before the type is published: a walk re-checks the slot anyway. */
	if (type == OBJ_FRAME && (flags & CAP_F_REVOCABLE))
		__atomic_fetch_or(&e->caps.revocable[PAGE_OF(slot)], BIT_OF(slot),
				  __ATOMIC_RELAXED);
	struct spinlock *l = tree_lock(type, obj);
	lock(l);
	slot_fill(e, slot, &c, (uint8_t)type);
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
	slot_fill(to, s, &child, c->type);
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
	slot_release(from, slot, false);
	slot_fill(to, s, &moved, moved.type);
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
	struct env *e = env_lookup(node.env);
	if (c->bound_va)
		obj_types[c->type]->unbind(e, c);
	slot_release(e, node.slot, false);
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
			       uint64_t frame, int *slot, uint32_t *from)
{
	uint64_t n = 0;
	uint32_t first = from ? *from : 0;
	if (!cap_table_pin(e))
		return 0; /* being destroyed: nothing to take */
	/* The revocable roots only, from the index (each re-checked under its lock). */
	for (uint32_t p = PAGE_OF(first); p < CAP_PAGES && n <= limit; p++) {
		uint64_t w = __atomic_load_n(&e->caps.revocable[p], __ATOMIC_RELAXED);
		if (p == PAGE_OF(first))
			w &= ~(BIT_OF(first) - 1); /* not the slots below first */
		for (; w && n <= limit; w &= w - 1) {
			uint32_t s = p * CAP_PAGE_SLOTS + (uint32_t)__builtin_ctzll(w);
			if (from)
				*from = s + 1;
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
	}
	cap_table_unpin(e);
	return n;
}

unsigned cap_revocable_frames(struct env *e, uint64_t *frames, unsigned max)
{
	return (unsigned)revocable_walk(e, UINT64_MAX, frames, max, 0, NULL, NULL);
}

unsigned cap_revocable_list(struct env *e, uint32_t *from, uint64_t *frames, unsigned max)
{
	if (!max || *from >= CAP_SLOTS)
		return 0;
	return (unsigned)revocable_walk(e, max - 1, frames, max, 0, NULL, from);
}

unsigned cap_revocable_find(struct env *e, uint64_t frame, int *slot)
{
	*slot = -1;
	return (unsigned)revocable_walk(e, UINT64_MAX, NULL, 0, frame, slot, NULL);
}

bool cap_revocable_more_than(struct env *e, uint64_t k)
{
	return revocable_walk(e, k, NULL, 0, 0, NULL, NULL) > k;
}

bool cap_is_root_of(struct env *e, uint64_t slot, uint64_t frame, uint64_t gen, bool *revocable)
{
	struct cap *c;
	struct spinlock *l;
	if (slot >= CAP_SLOTS || !cap_table_pin(e))
		return false;
	bool yes = false;
	if (slot_lock(e, (uint32_t)slot, &c, &l) == E_OK) {
		yes =
		    c->type == OBJ_FRAME && c->obj == frame && ref_none(c->parent) && c->gen == gen;
		*revocable = yes && (c->flags & CAP_F_REVOCABLE) && !stale(c);
		unlock(l);
	}
	cap_table_unpin(e);
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

void cap_table_close(struct env *e)
{
	struct cap_table *t = &e->caps;
	lock(&t->lock);
	__atomic_store_n(&t->closed, true, __ATOMIC_SEQ_CST);
	unlock(&t->lock);
}

bool cap_table_release(struct env *e, unsigned *units)
{
	struct cap_table *t = &e->caps;
	/* Every slot empty, no claim possible; once pinned readers leave, the pages go. */
	while (__atomic_load_n(&t->readers, __ATOMIC_SEQ_CST))
		percpu_wait_step(false);
	lock(&t->lock);
	for (unsigned p = 0; p < CAP_PAGES && *units && t->npages; p++)
		if (t->page[p]) {
			page_free(e, p);
			--*units;
		}
	bool done = t->npages == 0;
	unlock(&t->lock);
	return done;
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
	struct cap *c = cap_slot(e, s);
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

/*
 * The table's pages and index against its slots: a claimed slot is
 * exactly one whose type is not OBJ_NONE (both change under the table
 * lock), a page is in the summary exactly when it has a free slot, a page
 * not allocated has nothing claimed, and each page is a kernel frame
 * charged to e. Table lock held.
 */
static unsigned check_index(struct env *e)
{
	struct cap_table *t = &e->caps;
	unsigned bad = 0, pages = 0;
	for (uint32_t p = 0; p < CAP_PAGES; p++) {
		uint64_t used = t->used[p], claimed = 0;
		if (!!(t->nonfull[PWORD(p)] & PBIT(p)) != (used != ~0ULL)) {
			kprintf("check: env %u: page %u: the summary says %s\n", e->id, p,
				used == ~0ULL ? "not full, it is full" : "full, it is not");
			bad++;
		}
		if (!t->page[p]) {
			if (used) {
				kprintf(
				    "check: env %u: page %u not allocated, slots 0x%llx claimed\n",
				    e->id, p, (unsigned long long)used);
				bad++;
			}
			continue;
		}
		pages++;
		if (!env_kframe_is(e, t->frame[p]) ||
		    arch_phys_to_virt(pa_make(t->frame[p] * PAGE_SIZE)) != t->page[p]) {
			kprintf("check: env %u: page %u: frame %llu is not a kernel frame charged "
				"to it\n",
				e->id, p, (unsigned long long)t->frame[p]);
			bad++;
		}
		uint64_t revocable = 0,
			 marked = __atomic_load_n(&t->revocable[p], __ATOMIC_RELAXED);
		for (uint32_t i = 0; i < CAP_PAGE_SLOTS; i++) {
			const struct cap *c = &t->page[p][i];
			uint8_t type = slot_type(c);
			claimed |= (uint64_t)(type != OBJ_NONE) << i;
			revocable |= (uint64_t)(type == OBJ_FRAME && (c->flags & CAP_F_REVOCABLE) &&
						ref_none(c->parent))
				     << i;
			if (type == CAP_RESERVED) /* a claim being filled may be marked already */
				revocable |= marked & (1ULL << i);
		}
		if (claimed != used) {
			kprintf(
			    "check: env %u: page %u: slots 0x%llx in use, the index says 0x%llx\n",
			    e->id, p, (unsigned long long)claimed, (unsigned long long)used);
			bad++;
		}
		if (revocable != marked) {
			kprintf("check: env %u: page %u: revocable roots 0x%llx, marked 0x%llx\n",
				e->id, p, (unsigned long long)revocable,
				(unsigned long long)marked);
			bad++;
		}
	}
	if (pages != t->npages) {
		kprintf("check: env %u: %u table pages, %u counted\n", e->id, pages, t->npages);
		bad++;
	}
	return bad;
}

unsigned cap_check_env(struct env *e)
{
	unsigned bad = 0;
	if (!cap_table_pin(e))
		return 0; /* being destroyed: its table is going */
	lock(&e->caps.lock);
	bad += check_index(e);
	unlock(&e->caps.lock);
	/* The slots the index says are claimed (it was checked against them just now). */
	for (uint32_t p = 0; p < CAP_PAGES; p++) {
		for (uint64_t w = __atomic_load_n(&e->caps.used[p], __ATOMIC_RELAXED); w;
		     w &= w - 1) {
			uint32_t s = p * CAP_PAGE_SLOTS + (uint32_t)__builtin_ctzll(w);
			struct cap *c = cap_slot(e, s);
			uint8_t t = c ? slot_type(c) : OBJ_NONE;
			if (t == OBJ_NONE || t == CAP_RESERVED)
				continue;
			struct spinlock *l = tree_lock(t, c->obj);
			lock(l);
			if (c->type == t)
				bad += check_slot(e, s);
			unlock(l);
		}
	}
	cap_table_unpin(e);
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
