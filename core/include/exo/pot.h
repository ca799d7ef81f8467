/*
 * The page-ownership table (docs/design.md): one entry per physical frame, shared
 * by every core, changed only by atomic compare-and-swap on the entry's state
 * word. It is the truth about who owns a frame; everything else (per-core
 * free pools, capabilities) is a cache of it or a right derived from it.
 *
 * State word, 64 bits: | generation:40 | owner:22 | state:2 |
 *   - state: POT_FREE, POT_OWNED (by owner), POT_REVOKING (owner is being
 *     asked to give it back), POT_KERNEL (kernel use: image, tables; owner
 *     is the environment the frame is charged to, or POT_NO_OWNER).
 *   - generation: bumped every time the frame becomes free, so every
 *     capability and binding minted for the old owner dies at once.
 * mapped_on: the cores on which the frame may be mapped (TLB shootdown
 * targets); bits are set before a mapping is installed, cleared only by a
 * completed shootdown.
 */
#pragma once

#include <exo/types.h>

enum pot_state {
	POT_FREE = 0,
	POT_OWNED = 1,
	POT_REVOKING = 2,
	POT_KERNEL = 3,
};

#define POT_OWNER_BITS 22
#define POT_NO_OWNER ((1u << POT_OWNER_BITS) - 1)
/*
 * Two owners no environment has, for POT_KERNEL frames of the pre-zeroed
 * pools (exo/frame.h): POT_ZEROING, being zeroed by a core (interrupts
 * off, one page), then POT_POOL, zeroed and waiting in a pool. Both count
 * as free (pot_count_free), and pot_claim takes a POT_POOL frame as it
 * takes a free one (it waits out POT_ZEROING): to everyone else they are
 * free frames.
 */
#define POT_POOL (POT_NO_OWNER - 1)
#define POT_ZEROING (POT_NO_OWNER - 2)
#define POT_GEN_BITS 40

struct pot_entry {
	uint64_t word;	    /* atomic: state, owner, generation (above) */
	uint64_t mapped_on; /* atomic: bit c: may be mapped on core c */
	uint64_t root_hint; /* atomic: a hint, never trusted: the owner's root cap slot */
};

/* A decoded snapshot of one entry. */
struct pot_view {
	enum pot_state state;
	uint32_t owner;
	uint64_t gen;
	uint64_t mapped_on;
};

struct boot_mem;

/*
 * Build the table for the frames of mem[0..n-1]: usable RAM starts FREE,
 * everything else (holes, reserved, and frames in [kernel_lo, kernel_hi))
 * is POT_KERNEL with no owner. table must hold nframes entries, where
 * nframes = highest usable address / PAGE_SIZE. Called once, before any
 * other pot_ function, on one core.
 */
void pot_init(struct pot_entry *table, uint64_t nframes, const struct boot_mem *mem, unsigned n,
	      uint64_t kernel_lo, uint64_t kernel_hi);

/* Number of frames the table covers (frame numbers are 0..nframes-1). */
uint64_t pot_nframes(void);

/* The frames pot_init left free: what environments can ever hold (the cap on guarantees). */
uint64_t pot_usable_frames(void);

/* Snapshot of frame's entry. frame < pot_nframes(). */
struct pot_view pot_get(uint64_t frame);

/*
 * FREE -> OWNED by owner (or POT_KERNEL charged to owner, when kernel).
 * E_RANGE: frame >= nframes; E_PERM: the kernel's (image, tables, holes);
 * E_BUSY: owned or being revoked.
 * On success *gen is the generation the new owner's capabilities carry.
 */
must_check int pot_claim(uint64_t frame, uint32_t owner, bool kernel, uint64_t *gen);

/* pot_claim, and *zeroed: whether the frame came from a pool (POT_POOL: already zero). */
must_check int pot_claim_zeroed(uint64_t frame, uint32_t owner, bool kernel, uint64_t *gen,
				bool *zeroed);

/* FREE -> POT_ZEROING (this core zeroes it next). E_BUSY: not free; E_RANGE. */
must_check int pot_zero_begin(uint64_t frame);

/* POT_ZEROING -> POT_POOL: the frame is zero now (after pot_zero_begin only). */
void pot_zero_end(uint64_t frame);

/*
 * OWNED/KERNEL by owner at generation gen -> FREE, generation + 1.
 * E_RANGE: frame >= nframes; E_PERM: owned by someone else or not owned;
 * E_STALE: the generation moved on (someone else freed and reclaimed it).
 * The frame must be mapped nowhere (the caller unmapped it).
 */
must_check int pot_release(uint64_t frame, uint32_t owner, uint64_t gen);

/*
 * OWNED by owner at gen -> REVOKING (the abort protocol is taking it).
 * E_PERM: not owned by owner; E_STALE: the generation moved on.
 */
must_check int pot_mark_revoking(uint64_t frame, uint32_t owner, uint64_t gen);

/* Record that frame may now be mapped on core (before installing the PTE). */
void pot_note_mapped(uint64_t frame, unsigned core);

/*
 * A hint for finding frame's root capability without scanning its owner's
 * table: the slot it was put in (FRAME_ALLOC). Whoever reads it checks the
 * slot (cap_is_root_of) and scans if the hint is wrong; POT_NO_HINT: none.
 */
#define POT_NO_HINT UINT64_MAX
void pot_set_root_hint(uint64_t frame, uint64_t slot);
uint64_t pot_root_hint(uint64_t frame);

/* Count frames by state (for tests and the invariant checker). */
uint64_t pot_count(enum pot_state state);

/* Free frames: POT_FREE, and POT_KERNEL with owner POT_POOL or POT_ZEROING. */
uint64_t pot_count_free(void);
