/* Frame allocation over the page-ownership table (see exo/frame.h). */
#include <arch/cpu.h>
#include <arch/phys.h>
#include <exo/errors.h>
#include <exo/disk.h>
#include <exo/frame.h>
#include <exo/pot.h>
#include <exo/string.h>
#include <percpu.h>

_Static_assert(FRAME_POOL_SIZE == ARRAY_SIZE(((struct percpu *)0)->frame_pool),
	       "percpu frame pool size");

/* Where the next refill scan starts; shared, advanced atomically. */
static uint64_t scan_cursor;

/*
 * The pre-zeroed pools, one a core: frames this core zeroed while it idled,
 * POT_POOL in the table. Only the core itself pushes and pops (interrupts
 * off); any core may still claim a listed frame (by name, or in the last
 * sweep of frame_alloc_any), so a pop's claim is checked like a hint's.
 */
static struct zero_pool {
	uint64_t frame[FRAME_ZERO_POOL_MAX];
	unsigned n;
} zero_pools[MAX_CPUS];
static unsigned zero_target; /* frames a pool fills to; 0 until frame_zero_ahead_enable */

static void zero_frame(uint64_t frame)
{
	memset(arch_phys_to_virt(pa_make(frame * PAGE_SIZE)), 0, PAGE_SIZE);
}

/* Scan the next chunk of the table for free frames into this core's pool. */
static uint64_t pool_refill(struct percpu *c)
{
	uint64_t n = pot_nframes();
	uint64_t start = __atomic_fetch_add(&scan_cursor, FRAME_POOL_SIZE, __ATOMIC_RELAXED) % n;
	uint64_t scanned = MIN((uint64_t)FRAME_POOL_SIZE, n);
	for (uint64_t i = 0; i < scanned; i++) {
		uint64_t f = (start + i) % n;
		if (pot_get(f).state == POT_FREE)
			c->frame_pool[c->frame_pool_n++] = f;
	}
	return scanned;
}

/* Claim f for owner; zero it unless it came zeroed from a pool. */
static int claim(uint64_t f, uint32_t owner, bool kernel, uint64_t *gen)
{
	bool zeroed;
	int err = pot_claim_zeroed(f, owner, kernel, gen, &zeroed);
	if (err == E_OK && !zeroed)
		zero_frame(f);
	return err;
}

int frame_alloc_any(uint32_t owner, bool kernel, uint64_t *frame, uint64_t *gen)
{
	uint64_t n = pot_nframes(), scanned = 0;
	unsigned long flags = arch_irq_save(); /* the pools are this core's own */
	struct percpu *c = this_cpu();
	struct zero_pool *zp = &zero_pools[c->id];
	while (zp->n > 0) {
		uint64_t f = zp->frame[--zp->n];
		bool zeroed;
		/* Claimed and freed by someone since, it is dirty again: zero it then. */
		if (pot_claim_zeroed(f, owner, kernel, gen, &zeroed) == E_OK) {
			arch_irq_restore(flags);
			if (!zeroed)
				zero_frame(f);
			*frame = f;
			return E_OK;
		}
	}
	for (;;) {
		while (c->frame_pool_n > 0) {
			uint64_t f = c->frame_pool[--c->frame_pool_n];
			/* A hint only: the frame may have been claimed by name since. */
			if (claim(f, owner, kernel, gen) == E_OK) {
				arch_irq_restore(flags);
				*frame = f;
				return E_OK;
			}
		}
		/*
		 * After two table lengths of chunks (other cores move the shared
		 * cursor too, so the chunks may have skipped some), one last
		 * sweep of the whole table: E_NOMEM only when no frame is free.
		 */
		if (scanned >= 2 * n) {
			arch_irq_restore(flags);
			/* Other cores' pools too: their frames are free to everyone. */
			for (uint64_t f = 0; f < n; f++) {
				struct pot_view v = pot_get(f);
				bool free = v.state == POT_FREE ||
					    (v.state == POT_KERNEL && v.owner == POT_POOL);
				if (free && claim(f, owner, kernel, gen) == E_OK) {
					*frame = f;
					return E_OK;
				}
			}
			return E_NOMEM;
		}
		scanned += pool_refill(c);
	}
}

int frame_alloc_at(uint64_t n, uint32_t owner, bool kernel, uint64_t *gen)
{
	return claim(n, owner, kernel, gen);
}

void frame_zero_ahead_enable(unsigned ncpus)
{
	if (!ncpus) {
		zero_target = 0;
		for (unsigned c = 0; c < MAX_CPUS; c++)
			zero_pools[c].n = 0;
		return;
	}
	/* At most a sixteenth of the memory in all pools together: they must not hide it. */
	uint64_t share = pot_usable_frames() / (16 * (uint64_t)MAX(ncpus, 1u));
	zero_target = (unsigned)MIN(share, (uint64_t)FRAME_ZERO_POOL_MAX);
}

bool frame_zero_ahead(void)
{
	if (!zero_target)
		return false;
	unsigned long flags = arch_irq_save();
	struct percpu *c = this_cpu();
	struct zero_pool *zp = &zero_pools[c->id];
	bool more = false;
	if (zp->n < zero_target) {
		/* A free frame from the hint pool, refilled at most once: idle work stays short. */
		if (c->frame_pool_n == 0)
			(void)pool_refill(c);
		while (c->frame_pool_n > 0) {
			uint64_t f = c->frame_pool[--c->frame_pool_n];
			if (pot_zero_begin(f) != E_OK)
				continue; /* taken since */
			zero_frame(f); /* interrupts off: a claimer of f waits this long at most */
			pot_zero_end(f);
			zp->frame[zp->n++] = f;
			/* More only after a frame was found: a core with none free sleeps. */
			more = zp->n < zero_target;
			break;
		}
	}
	arch_irq_restore(flags);
	return more;
}

unsigned frame_zero_pool_count(void)
{
	return zero_pools[cpu_id()].n;
}

int frame_free(uint64_t frame, uint32_t owner, uint64_t gen)
{
	/*
	 * A disk request may be moving data into or out of it: take it out of
	 * OWNED first (no new request can then name it), wait for those in
	 * flight, and only then let it go (exo/disk.h).
	 */
	if (disk_may_dma() && pot_mark_revoking(frame, owner, gen) == E_OK)
		disk_quiesce_frame(frame);
	return pot_release(frame, owner, gen);
}

uint64_t frame_free_count(void)
{
	return pot_count_free();
}
