/*
 * Frame allocation on top of the page-ownership table. Each core keeps a
 * small pool of frame numbers that were free when it looked (a hint, not a
 * reservation); it refills by taking the next chunk of the table from a
 * shared atomic cursor. The claim itself is pot_claim's CAS, so a frame in
 * one core's pool can still be allocated by name elsewhere: the pool simply
 * skips it later. No lock anywhere.
 */
#pragma once

#include <exo/types.h>

/* Frames per core pool, and per refill scan of the table. */
#define FRAME_POOL_SIZE 64

/*
 * Claim any free frame for owner, zeroed (kernel: charged to owner but not
 * mappable, for page tables). E_NOMEM when a full sweep of the table finds
 * none. *frame and *gen out.
 */
must_check int frame_alloc_any(uint32_t owner, bool kernel, uint64_t *frame, uint64_t *gen);

/* Claim frame number n for owner: pot_claim's errors (E_RANGE, E_PERM, E_BUSY). */
must_check int frame_alloc_at(uint64_t n, uint32_t owner, bool kernel, uint64_t *gen);

/* Release a frame (pot_release's errors). Frames are zeroed when allocated. */
must_check int frame_free(uint64_t frame, uint32_t owner, uint64_t gen);

/* Free frames right now (FREE entries in the table). */
uint64_t frame_free_count(void);
