/*
 * Capabilities (docs/design.md "Kernel objects and capabilities"). Each
 * environment has a table of up to CAP_SLOTS slots, in pages of
 * CAP_PAGE_SLOTS allocated when first needed (struct cap_table below); a
 * capability holds an object
 * type and id, rights, a badge, and the object's generation when it was
 * made. Capabilities derived from one another (mint, grant-copy) form one
 * derivation tree per object, linked through the slots themselves, so revoke
 * is exact: it deletes precisely the descendants.
 *
 * Concurrency: every capability of one object is guarded by that object's
 * tree lock (a striped lock keyed by type and id); slot allocation in a
 * table takes the table's lock (a leaf, below any tree lock). No operation
 * holds two tree locks. Lock order: tree lock, then the environment's lock
 * (its address space) or the table's lock; the table's lock, then the
 * quota lock.
 *
 * Every function validates everything before it changes anything (decode,
 * then perform): on error nothing has changed.
 */
#pragma once

#include <exo/abi.h>
#include <exo/spinlock.h>
#include <exo/types.h>

struct env;

/* A reference to a slot anywhere: env id and slot index. */
struct cap_ref {
	uint32_t env;
	uint32_t slot;
};
#define CAP_REF_NONE ((struct cap_ref){ CAP_NO_SLOT, CAP_NO_SLOT })

struct cap {
	uint8_t type;	/* enum obj_type; OBJ_NONE: empty; CAP_RESERVED: being filled */
	uint8_t rights; /* enum cap_rights */
	uint8_t depth;	/* 0 for a root */
	uint8_t flags;	/* CAP_F_*: of the root capability */
	uint32_t badge;
	uint64_t obj; /* frame number or env id */
	uint64_t gen; /* the object's generation at creation */
	struct cap_ref parent, first_child, next_sibling, prev_sibling;
	uint64_t bound_va; /* frame caps: the one va this cap maps, 0 if none */
};
#define CAP_RESERVED 0xff

/* A table page is one frame of CAP_PAGE_SLOTS capabilities. */
#define CAP_PAGES (CAP_SLOTS / CAP_PAGE_SLOTS)
_Static_assert(sizeof(struct cap) * CAP_PAGE_SLOTS == PAGE_SIZE, "a table page is a frame");
_Static_assert(CAP_PAGE_SLOTS == 64 && CAP_PAGES % 64 == 0, "one bitmap word per page");

/*
 * An environment's capability table (seL4's CNode, Zircon's handle table):
 * a directory of pages, each a kernel frame allocated (zeroed: every slot
 * empty) the first time a claim needs one of its slots, charged to the
 * environment and its ancestors as a kernel frame (QUOTA_PT_FRAMES), and
 * freed when the environment is destroyed. A slot in a page not allocated
 * is simply empty. The index finds the lowest free slot without a scan:
 * one bitmap word per page (claimed slots) and a summary bit per page
 * (it has a free slot; an unallocated page has 64). A second word per page
 * marks the revocable root frames (CAP_F_REVOCABLE), so the walks that
 * look for them visit nothing else.
 *
 * Only core/cap.c reads or writes it (cap_slot is the one accessor others
 * use); the invariant checker checks the index and the pages against the
 * slots (cap_check_env).
 */
struct cap_table {
	struct spinlock lock; /* guards the index, the directory and closed */
	bool closed;	      /* atomic: the environment is being destroyed: no claim */
	uint32_t readers;     /* atomic: other cores reading the pages (cap_table_pin) */
	uint32_t npages;      /* pages allocated */
	uint64_t nonfull[CAP_PAGES / 64]; /* bit p: page p has a free slot */
	uint64_t used[CAP_PAGES];	  /* word p, bit i: slot 64p + i claimed or filled */
	uint64_t fresh[CAP_PAGES / 64];	  /* bit p: page p grown by a claim not yet filled */
	uint64_t
	    revocable[CAP_PAGES]; /* atomic, like used: a revocable root frame (or about to be) */
	struct cap *page[CAP_PAGES]; /* atomic: NULL until allocated */
	uint64_t frame[CAP_PAGES];   /* page p's frame number */
};

/* A frame the environment allocated itself: revocable beyond its guarantee. */
#define CAP_F_REVOCABLE 1u

/* Deepest derivation allowed (keeps revoke's and the checker's walks bounded). */
#define CAP_MAX_DEPTH 32
/* Caps deleted by one cap_revoke call at most; then it returns E_AGAIN. */
#define CAP_REVOKE_BATCH 16

/*
 * Put a new root capability for (type, obj, gen) with all rights into a free
 * slot of e. E_NOMEM: the table is full.
 */
must_check int cap_insert_root(struct env *e, enum obj_type type, uint64_t obj, uint64_t gen,
			       unsigned rights, uint32_t *slot);

/*
 * The same in two steps, so a syscall can make sure of the slot before it
 * allocates the object (and so fails without changing anything): reserve a
 * free slot (E_NOMEM: the table is full), then fill it with the new root,
 * which cannot fail — or give it back unused.
 */
must_check int cap_reserve(struct env *e, uint32_t *slot);
/* cap_reserve, saying (*no_frame) whether an E_NOMEM was a new table page finding no frame free. */
must_check int cap_reserve_why(struct env *e, uint32_t *slot, bool *no_frame);
void cap_fill_root(struct env *e, uint32_t slot, enum obj_type type, uint64_t obj, uint64_t gen,
		   unsigned rights, unsigned flags);
void cap_unreserve(struct env *e, uint32_t slot);

/*
 * Copy of the capability in slot, checked: E_BADSLOT (out of range or
 * empty), E_TYPE (type given and different), E_PERM (missing any of
 * rights), E_STALE (the object's generation moved on).
 */
must_check int cap_get(struct env *e, uint32_t slot, enum obj_type type, unsigned rights,
		       struct cap *out);

/* Derive a child in e with rights & parent's and badge (only if the parent has none). */
must_check int cap_mint(struct env *e, uint32_t slot, unsigned rights, uint32_t badge,
			uint32_t *new_slot);

/* Copy (a child) or move slot of `from` into `to`. Needs CAP_R_GRANT. */
must_check int cap_grant(struct env *from, uint32_t slot, struct env *to, bool move,
			 uint32_t *new_slot);

/* Delete up to CAP_REVOKE_BATCH descendants of slot; E_AGAIN if more remain. */
must_check int cap_revoke(struct env *e, uint32_t slot);

/*
 * Delete the capability in slot: E_BUSY if it has descendants (revoke
 * first). Removes its binding. Deleting a root gives its object up: a frame
 * e owns is freed, a slot or endpoint deleted, an environment destroyed
 * (at its next slice boundary, if it is running).
 */
must_check int cap_delete(struct env *e, uint32_t slot);

/*
 * Root frame capabilities of e that are revocable (CAP_F_REVOCABLE) and
 * live: how many, and (if frames is not NULL) up to max of their frame numbers.
 */
unsigned cap_revocable_frames(struct env *e, uint64_t *frames, unsigned max);

/*
 * Up to max of them, in slot order, from slot *from on (a walk in chunks
 * for a caller with no room for them all); *from moves past the last one
 * listed. Returns how many were listed.
 */
unsigned cap_revocable_list(struct env *e, uint32_t *from, uint64_t *frames, unsigned max);

/*
 * The same count in one walk with the slot of frame's root capability among
 * them (*slot = -1 if frame is not one of e's revocable frames): what a
 * downloaded revocation handler's frees are checked against.
 */
unsigned cap_revocable_find(struct env *e, uint64_t frame, int *slot);

/* More than k such frames? The same count, stopping as soon as it passes k. */
bool cap_revocable_more_than(struct env *e, uint64_t k);

/*
 * Does e's slot hold frame's root capability at generation gen (the one
 * root_slot-style scans look for)? *revocable: with CAP_F_REVOCABLE. Checks
 * the slot under its lock; a bad slot number is just "no".
 */
bool cap_is_root_of(struct env *e, uint64_t slot, uint64_t frame, uint64_t gen, bool *revocable);

/* Describe slot for user space (no generation check: stale caps can be inspected). */
must_check int cap_inspect(struct env *e, uint32_t slot, struct cap_info *out);

/*
 * The slot's capability, or NULL if slot is past CAP_SLOTS or its page is
 * not allocated (an empty slot). The one way to reach a slot from outside
 * core/cap.c; its contents are read as cap.c's rules say (under the tree
 * lock, or its type alone with acquire).
 */
struct cap *cap_slot(struct env *e, uint32_t slot);

/* An empty table with no pages (env_create). */
void cap_table_init(struct env *e);

/*
 * A destroy in steps (core/env.c): cap_table_close when it begins (claims
 * in e fail with E_STALE from then on), then the stepper deletes every
 * capability (cap_slot: NULL for a page never grown), then
 * cap_table_release frees the table's pages once no pinned reader is
 * left, one per unit of *units (decremented); true once none is left.
 */
void cap_table_close(struct env *e);
bool cap_table_release(struct env *e, unsigned *units);

/*
 * Read e's table from a core that does not own e (a revocation request's
 * checks): false if e is being destroyed (its pages may go). Between a true
 * and cap_table_unpin, the pages stay.
 */
bool cap_table_pin(struct env *e);
void cap_table_unpin(struct env *e);

/* Bind/unbind a frame cap to a va (the mapping itself is the caller's, under the tree lock). */
must_check int cap_bind(struct env *e, uint32_t slot, uint64_t va, unsigned prot);
must_check int cap_unbind(struct env *e, uint32_t slot);

/*
 * Check the derivation links and slot contents of every live environment
 * (the invariant checker's capability half). Returns the number of problems
 * found and prints each.
 */
unsigned cap_check_all(void);

/* The same for one environment's table (its links into other tables included). */
unsigned cap_check_env(struct env *e);
