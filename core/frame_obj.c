/*
 * A frame as the object of capabilities: its row in the object-type table
 * (exo/obj.h). Apart from frame.c because a frame capability is held and
 * mapped by environments: this row is above both the allocator and env.c.
 */
#include <arch/mm.h>
#include <exo/cap.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/kprintf.h>
#include <exo/obj.h>
#include <exo/pot.h>

static uint64_t frame_gen(uint64_t obj)
{
	return obj < pot_nframes() ? pot_get(obj).gen : ~0ULL;
}

/*
 * Current, and not being taken (the abort protocol: its generation moves
 * only at the end; models/revoke.pml, BUG_GEN_ONLY_CHECK). One read of the
 * entry: this is on every use of a frame capability.
 */
static int frame_valid(uint64_t obj, uint64_t gen)
{
	if (obj >= pot_nframes())
		return E_STALE;
	struct pot_view v = pot_get(obj);
	return v.gen != gen || v.state == POT_REVOKING ? E_STALE : E_OK;
}

/* Its binding goes with it (lock order: tree lock, then the env's). */
static void frame_unbind(struct env *holder, struct cap *c)
{
	env_unmap(holder, c->bound_va);
	c->bound_va = 0;
}

/* The owner's root: the frame is freed (nothing if its generation moved on). */
static void frame_root_deleted(struct env *owner, uint64_t obj, uint64_t gen)
{
	if (frame_gen(obj) == gen && frame_free(obj, owner->id, gen) == E_OK)
		__atomic_fetch_sub(&owner->frames_owned, 1, __ATOMIC_RELAXED);
}

static unsigned frame_check(struct env *e, uint32_t s, const struct cap *c)
{
	unsigned bad = 0;
	bool live = frame_gen(c->obj) == c->gen;
#define BAD(...)                                                                                   \
	do {                                                                                       \
		kprintf("check: env %u slot %u: " __VA_ARGS__);                                    \
		bad++;                                                                             \
	} while (0)
	if (c->bound_va) {
		paddr_t pa;
		unsigned prot;
		if (arch_query(&e->as, va_make(c->bound_va), &pa, &prot) != E_OK ||
		    pa_raw(pa) != c->obj * PAGE_SIZE)
			BAD("bound at 0x%llx but the page table disagrees\n", e->id, s,
			    (unsigned long long)c->bound_va);
		if (!live)
			BAD("stale capability still bound\n", e->id, s);
		if (!(pot_get(c->obj).mapped_on & (1ULL << e->home)))
			BAD("frame %llu mapped but not on core %u's shootdown set\n", e->id, s,
			    (unsigned long long)c->obj, e->home);
	}
	if (live) {
		struct pot_view v = pot_get(c->obj);
		if (v.state != POT_OWNED && v.state != POT_REVOKING)
			BAD("live cap to frame %llu in state %u\n", e->id, s,
			    (unsigned long long)c->obj, v.state);
	}
#undef BAD
	return bad;
}

const struct obj_ops frame_obj_ops = {
	.name = "frame",
	.gen = frame_gen,
	.valid = frame_valid,
	.unbind = frame_unbind,
	.root_deleted = frame_root_deleted,
	.check = frame_check,
};
