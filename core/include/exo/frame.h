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

/* Release a frame (pot_release's errors). It goes back dirty: zeroed when allocated next. */
must_check int frame_free(uint64_t frame, uint32_t owner, uint64_t gen);

/*
 * Pre-zeroed frames. A frame always comes zeroed; zeroing it on the way
 * (512 stores) is most of an allocation's path, so each core keeps a pool
 * of frames it zeroed while it had nothing else to do (POT_POOL in the
 * table, exo/pot.h), and frame_alloc_any takes from it first. An empty
 * pool only means the zeroing is done on the spot, as without one.
 */
#define FRAME_ZERO_POOL_MAX 512

/*
 * Turn the pools on (the kernel at boot): each fills to a share of the
 * memory. ncpus 0 turns them off and forgets them (host tests, before they
 * re-initialize the table).
 */
void frame_zero_ahead_enable(unsigned ncpus);

/*
 * Zero one free frame into this core's pool (its idle loop calls it, when
 * nothing else is to be done); true if it did and the pool wants more:
 * false when full, or when one scanned chunk of the table had no free
 * frame (the core may sleep). Does nothing before frame_zero_ahead_enable.
 */
bool frame_zero_ahead(void);

/* Frames in this core's pool now (tests, figures). */
unsigned frame_zero_pool_count(void);

/* Free frames right now (FREE entries in the table, and the pools' frames). */
uint64_t frame_free_count(void);
