/*
 * Time: each core's slice vector (docs/design.md "Time", after Aegis). A core has
 * slice_nslots slots of slice_ns each, visited round robin by its timer.
 * A slot is owned by an environment homed on that core, or free; free
 * slots (and slots whose owner cannot run) go to the core's other runnable
 * environments in turn. Slots are named (core, index) and held through
 * OBJ_SLOT capabilities, object id core * SLICE_MAX_SLOTS + index.
 */
#pragma once

#include <exo/abi.h>
#include <exo/types.h>

#define SLICE_MAX_SLOTS 64


struct env;

extern unsigned slice_nslots; /* slots per core (kernel option slots=, default 16) */
extern uint64_t slice_ns;     /* slice length (kernel option slice_us=, default 1000) */

/*
 * Give slot `slot` of core (or any free one, SLOT_ANY) to owner (at
 * generation owner_gen), which must be homed on core. E_INVAL: core out of
 * range or not owner's home; E_RANGE: slot >= slice_nslots; E_BUSY: taken;
 * E_NOMEM: none free; E_STALE: owner is gone (checked after publishing, so
 * a destroy that missed the slot is always noticed). *index, *gen out.
 */
must_check int slice_alloc(unsigned core, uint64_t slot, struct env *owner, uint64_t owner_gen,
			   unsigned *index, uint64_t *gen);

/* Free a slot held at generation gen: E_STALE if it moved on (freed already). */
must_check int slice_free(unsigned core, unsigned index, uint64_t gen);

/* The current generation of slot object id obj (as in its capability). */
uint64_t slice_gen(uint64_t obj);

/* Free every slot e owns, on every core (environment teardown). */
void slice_release_env(struct env *e);

/* Slots core has owned now. */
unsigned slice_owned(unsigned core);
