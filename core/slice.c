/* Slice vectors: ownership of time slots (see exo/slice.h). */
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/obj.h>
#include <exo/slice.h>
#include <percpu.h>

unsigned slice_nslots = 16;
uint64_t slice_ns = 1000000;

int slice_alloc(unsigned core, uint64_t slot, struct env *owner, uint64_t owner_gen, unsigned *index,
		uint64_t *gen)
{
	if (core >= percpu_ncpus || owner->home != core)
		return E_INVAL;
	if (slot != SLOT_ANY && slot >= slice_nslots)
		return E_RANGE;
	struct percpu *p = percpu_of(core);
	unsigned lo = slot == SLOT_ANY ? 0 : (unsigned)slot;
	unsigned hi = slot == SLOT_ANY ? slice_nslots : (unsigned)slot + 1;
	for (unsigned i = lo; i < hi; i++) {
		struct env *expect = NULL;
		if (__atomic_compare_exchange_n(&p->slot_owner[i], &expect, owner, false,
						__ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
			/* Ours: nobody frees it now but through our generation. */
			uint64_t g = __atomic_load_n(&p->slot_gen[i], __ATOMIC_SEQ_CST);
			/* Published: a destroy of owner from now on finds it; one before, we see. */
			if (!env_alive(owner) ||
			    __atomic_load_n(&owner->gen, __ATOMIC_SEQ_CST) != owner_gen) {
				(void)slice_free(core, i, g);
				return E_STALE;
			}
			*index = i;
			*gen = g;
			return E_OK;
		}
	}
	return slot == SLOT_ANY ? E_NOMEM : E_BUSY;
}

int slice_free(unsigned core, unsigned index, uint64_t gen)
{
	if (core >= MAX_CPUS || index >= SLICE_MAX_SLOTS)
		return E_RANGE;
	struct percpu *p = percpu_of(core);
	/* The generation moves first: the capability is dead before the slot is free. */
	if (!__atomic_compare_exchange_n(&p->slot_gen[index], &gen, gen + 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return E_STALE;
	__atomic_store_n(&p->slot_owner[index], NULL, __ATOMIC_RELEASE);
	return E_OK;
}

uint64_t slice_gen(uint64_t obj)
{
	uint64_t core = obj / SLICE_MAX_SLOTS, index = obj % SLICE_MAX_SLOTS;
	if (core >= MAX_CPUS)
		return ~0ULL;
	return __atomic_load_n(&percpu_of((unsigned)core)->slot_gen[index], __ATOMIC_ACQUIRE);
}

void slice_release_env(struct env *e)
{
	for (unsigned c = 0; c < percpu_ncpus; c++) {
		for (unsigned i = 0; i < SLICE_MAX_SLOTS; i++) {
			/* Generation first: if the slot changes hands after this, the free fails. */
			uint64_t g = slice_gen(c * SLICE_MAX_SLOTS + i);
			if (__atomic_load_n(&percpu_of(c)->slot_owner[i], __ATOMIC_SEQ_CST) == e)
				(void)slice_free(c, i, g);
		}
	}
}

unsigned slice_owned(unsigned core)
{
	unsigned n = 0;
	for (unsigned i = 0; i < slice_nslots; i++)
		n += __atomic_load_n(&percpu_of(core)->slot_owner[i], __ATOMIC_ACQUIRE) != NULL;
	return n;
}

/* The object-type table's row for time slots (exo/obj.h): the root's deletion frees it. */
static void slot_root_deleted(struct env *owner, uint64_t obj, uint64_t gen)
{
	/* E_STALE: freed already. */
	(void)slice_free((unsigned)(obj / SLICE_MAX_SLOTS), (unsigned)(obj % SLICE_MAX_SLOTS), gen);
}

const struct obj_ops slot_obj_ops = {
	.name = "slot",
	.gen = slice_gen,
	.root_deleted = slot_root_deleted,
};
