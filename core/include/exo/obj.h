/*
 * The object-type table (docs/design.md "Layers"): what the capability code
 * needs to know about each kind of kernel object, one row per type, so that
 * cap.c names no object's file and no object's function. Each object's own
 * file defines its row (frame_obj.c, env.c, slice.c, pct.c, disk.c,
 * bpf_hooks.c); objects.c
 * lists them by type. A new object type adds its row there and its number to
 * enum obj_type (exo/abi.h); cap.c does not change.
 *
 * Calls happen in these contexts:
 *   gen, valid   — any time, with or without a tree lock; lock-free reads.
 *                  valid is on every use of a capability: keep it short.
 *   unbind       — under the object's tree lock, for a bound capability
 *                  that goes (delete, revoke); may not fail or take a tree
 *                  lock.
 *   root_deleted — after the root capability was deleted, no lock held.
 *   check        — the invariant checker, under the tree lock.
 *
 * Every type a capability can hold has a row (the checker says so if not);
 * the capability code indexes the table without testing for NULL rows.
 */
#pragma once

#include <exo/abi.h>
#include <exo/types.h>

struct cap;
struct env;

struct obj_ops {
	const char *name; /* for the checker's and the console's messages */
	/*
	 * The object's current generation, to compare with a capability's: a
	 * capability made for another is stale (E_STALE). ~0 if obj names no
	 * object (out of range). Required.
	 */
	uint64_t (*gen)(uint64_t obj);
	/*
	 * Optional: whether a capability made at gen may be used now: E_OK, or
	 * E_STALE — its generation moved on, or (beyond gen(obj) != gen) the
	 * object is being taken away and its generation has not moved yet, so
	 * it gets no new binding or derivation. Unset: gen(obj) == gen.
	 */
	int (*valid)(uint64_t obj, uint64_t gen);
	/*
	 * Optional: the capability c in holder's table, bound (c->bound_va),
	 * goes (it is still filled in): remove the mapping, clear bound_va.
	 */
	void (*unbind)(struct env *holder, struct cap *c);
	/*
	 * Optional: owner deleted the root capability of (obj, gen), which
	 * stands for the object: give the object up. gen may be stale already
	 * (deleted by another path): then do nothing.
	 */
	void (*root_deleted)(struct env *owner, uint64_t obj, uint64_t gen);
	/*
	 * Optional: the invariant checker's own checks of capability c in
	 * holder's slot s, beyond the derivation links cap.c checks. Returns
	 * the problems found, each printed.
	 */
	unsigned (*check)(struct env *holder, uint32_t s, const struct cap *c);
};

/* The rows, by enum obj_type; NULL for OBJ_NONE and for types not (yet) built. */
extern const struct obj_ops *const obj_types[OBJ_TYPES];

/* The row of type (NULL if none). */
static inline const struct obj_ops *obj_ops(unsigned type)
{
	return type < OBJ_TYPES ? obj_types[type] : NULL;
}

/* Each object file's row (objects.c lists them). */
extern const struct obj_ops frame_obj_ops, env_obj_ops, slot_obj_ops, endpoint_obj_ops,
    blocks_obj_ops, bpf_obj_ops;
