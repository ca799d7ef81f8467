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

int frame_alloc_any(uint32_t owner, bool kernel, uint64_t *frame, uint64_t *gen)
{
	uint64_t n = pot_nframes(), scanned = 0;
	unsigned long flags = arch_irq_save(); /* the pool is this core's own */
	struct percpu *c = this_cpu();
	for (;;) {
		while (c->frame_pool_n > 0) {
			uint64_t f = c->frame_pool[--c->frame_pool_n];
			/* A hint only: the frame may have been claimed by name since. */
			if (pot_claim(f, owner, kernel, gen) == E_OK) {
				arch_irq_restore(flags);
				zero_frame(f);
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
			for (uint64_t f = 0; f < n; f++) {
				if (pot_get(f).state == POT_FREE &&
				    pot_claim(f, owner, kernel, gen) == E_OK) {
					zero_frame(f);
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
	int e = pot_claim(n, owner, kernel, gen);
	if (e == E_OK)
		zero_frame(n);
	return e;
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

uint64_t frame_free_count(void) { return pot_count(POT_FREE); }
