/* The page-ownership table (see exo/pot.h). */
#include <arch/cpu.h>
#include <exo/boot.h>
#include <exo/errors.h>
#include <exo/pot.h>
#include <exo/plant.h>
#include <percpu.h>

#define STATE_MASK 3ULL
#define OWNER_SHIFT 2
#define OWNER_MASK ((1ULL << POT_OWNER_BITS) - 1)
#define GEN_SHIFT (OWNER_SHIFT + POT_OWNER_BITS)

static struct pot_entry *pot;
static uint64_t pot_frames;
static uint64_t pot_usable;

static uint64_t word_make(enum pot_state s, uint32_t owner, uint64_t gen)
{
	return (uint64_t)s | ((uint64_t)(owner & OWNER_MASK) << OWNER_SHIFT) | (gen << GEN_SHIFT);
}

static struct pot_view word_view(uint64_t w)
{
	return (struct pot_view){
		.state = (enum pot_state)(w & STATE_MASK),
		.owner = (uint32_t)((w >> OWNER_SHIFT) & OWNER_MASK),
		.gen = w >> GEN_SHIFT,
	};
}

void pot_init(struct pot_entry *table, uint64_t nframes, const struct boot_mem *mem, unsigned n,
	      uint64_t kernel_lo, uint64_t kernel_hi)
{
	pot = table;
	pot_frames = nframes;
	for (uint64_t f = 0; f < nframes; f++)
		table[f] =
		    (struct pot_entry){ word_make(POT_KERNEL, POT_NO_OWNER, 0), 0, POT_NO_HINT };
	/* Only whole pages inside usable ranges become free. */
	for (unsigned i = 0; i < n; i++) {
		if (!mem[i].usable)
			continue;
		uint64_t lo = ALIGN_UP(mem[i].base, PAGE_SIZE) / PAGE_SIZE;
		uint64_t hi = ALIGN_DOWN(mem[i].base + mem[i].len, PAGE_SIZE) / PAGE_SIZE;
		for (uint64_t f = lo; f < hi && f < nframes; f++)
			table[f].word = word_make(POT_FREE, POT_NO_OWNER, 0);
	}
	for (uint64_t f = kernel_lo / PAGE_SIZE; f < ALIGN_UP(kernel_hi, PAGE_SIZE) / PAGE_SIZE &&
						 f < nframes;
	     f++)
		table[f].word = word_make(POT_KERNEL, POT_NO_OWNER, 0);
	/* Frame 0 stays the kernel's: a frame number of 0 is too easy to get by mistake. */
	if (nframes)
		table[0].word = word_make(POT_KERNEL, POT_NO_OWNER, 0);
	pot_usable = 0;
	for (uint64_t f = 0; f < nframes; f++)
		pot_usable += (table[f].word & STATE_MASK) == POT_FREE;
}

uint64_t pot_nframes(void) { return pot_frames; }

uint64_t pot_usable_frames(void)
{
	return pot_usable;
}

struct pot_view pot_get(uint64_t frame)
{
	struct pot_view v = word_view(__atomic_load_n(&pot[frame].word, __ATOMIC_ACQUIRE));
	v.mapped_on = __atomic_load_n(&pot[frame].mapped_on, __ATOMIC_ACQUIRE);
	return v;
}

void pot_set_root_hint(uint64_t frame, uint64_t slot)
{
	if (frame < pot_frames)
		__atomic_store_n(&pot[frame].root_hint, slot, __ATOMIC_RELAXED);
}

uint64_t pot_root_hint(uint64_t frame)
{
	return frame < pot_frames ? __atomic_load_n(&pot[frame].root_hint, __ATOMIC_RELAXED)
				  : POT_NO_HINT;
}

int pot_claim_zeroed(uint64_t frame, uint32_t owner, bool kernel, uint64_t *gen, bool *zeroed)
{
	if (PLANTED(PLANT_FRAME_BOUNDS) ? frame > pot_frames : frame >= pot_frames)
		return E_RANGE;
	uint64_t w = __atomic_load_n(&pot[frame].word, __ATOMIC_ACQUIRE);
	for (;;) {
		struct pot_view v = word_view(w);
		if (v.state == POT_KERNEL && v.owner == POT_ZEROING) {
			/* Another core is zeroing it for its pool, interrupts off: a page's time. */
			arch_cpu_relax();
			w = __atomic_load_n(&pot[frame].word, __ATOMIC_ACQUIRE);
			continue;
		}
		bool pooled = v.state == POT_KERNEL && v.owner == POT_POOL;
		if (v.state == POT_KERNEL && !pooled)
			return E_PERM;
		if (v.state != POT_FREE && !pooled)
			return E_BUSY;
		uint64_t nw = word_make(kernel ? POT_KERNEL : POT_OWNED, owner, v.gen);
		/* On failure w is reloaded: someone changed the entry first; look again. */
		if (__atomic_compare_exchange_n(&pot[frame].word, &w, nw, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			*gen = v.gen;
			*zeroed = pooled;
			return E_OK;
		}
	}
}

int pot_claim(uint64_t frame, uint32_t owner, bool kernel, uint64_t *gen)
{
	bool zeroed;
	return pot_claim_zeroed(frame, owner, kernel, gen, &zeroed);
}

int pot_zero_begin(uint64_t frame)
{
	if (frame >= pot_frames)
		return E_RANGE;
	uint64_t w = __atomic_load_n(&pot[frame].word, __ATOMIC_ACQUIRE);
	struct pot_view v = word_view(w);
	if (v.state != POT_FREE)
		return E_BUSY;
	uint64_t nw = word_make(POT_KERNEL, POT_ZEROING, v.gen);
	return __atomic_compare_exchange_n(&pot[frame].word, &w, nw, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE)
		   ? E_OK
		   : E_BUSY;
}

void pot_zero_end(uint64_t frame)
{
	uint64_t w = __atomic_load_n(&pot[frame].word, __ATOMIC_ACQUIRE);
	struct pot_view v = word_view(w);
	/* Nobody else changes a POT_ZEROING entry: a plain release store publishes the zeroes. */
	__atomic_store_n(&pot[frame].word, word_make(POT_KERNEL, POT_POOL, v.gen),
			 __ATOMIC_RELEASE);
}

int pot_release(uint64_t frame, uint32_t owner, uint64_t gen)
{
	if (frame >= pot_frames)
		return E_RANGE;
	uint64_t w = __atomic_load_n(&pot[frame].word, __ATOMIC_ACQUIRE);
	for (;;) {
		struct pot_view v = word_view(w);
		if (v.state == POT_FREE || v.owner != owner || owner == POT_NO_OWNER)
			return E_PERM; /* (OWNED, REVOKING and KERNEL release alike) */
		if (v.gen != gen)
			return E_STALE;
		/* The generation moves on: every capability to the old incarnation dies. */
		uint64_t nw = word_make(POT_FREE, POT_NO_OWNER, (gen + 1) & ((1ULL << POT_GEN_BITS) - 1));
		/*
		 * Mapped nowhere now (the caller unmapped and flushed): clear the
		 * set while the frame is still ours, so a new owner's bits survive.
		 */
		uint64_t was = __atomic_exchange_n(&pot[frame].mapped_on, 0, __ATOMIC_ACQ_REL);
		if (__atomic_compare_exchange_n(&pot[frame].word, &w, nw, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return E_OK;
		__atomic_store_n(&pot[frame].mapped_on, was, __ATOMIC_RELEASE); /* not ours after all */
	}
}

void pot_note_mapped(uint64_t frame, unsigned core)
{
	__atomic_fetch_or(&pot[frame].mapped_on, 1ULL << core, __ATOMIC_ACQ_REL);
}

uint64_t pot_count(enum pot_state state)
{
	uint64_t n = 0;
	for (uint64_t f = 0; f < pot_frames; f++)
		n += word_view(__atomic_load_n(&pot[f].word, __ATOMIC_RELAXED)).state == state;
	return n;
}

uint64_t pot_count_free(void)
{
	uint64_t n = 0;
	for (uint64_t f = 0; f < pot_frames; f++) {
		struct pot_view v = word_view(__atomic_load_n(&pot[f].word, __ATOMIC_RELAXED));
		n += v.state == POT_FREE ||
		     (v.state == POT_KERNEL && (v.owner == POT_POOL || v.owner == POT_ZEROING));
	}
	return n;
}

int pot_mark_revoking(uint64_t frame, uint32_t owner, uint64_t gen)
{
	if (frame >= pot_frames)
		return E_RANGE;
	uint64_t w = __atomic_load_n(&pot[frame].word, __ATOMIC_ACQUIRE);
	struct pot_view v = word_view(w);
	if (v.state == POT_REVOKING && v.owner == owner && v.gen == gen)
		return E_OK; /* already */
	if (v.state != POT_OWNED || v.owner != owner)
		return E_PERM;
	if (v.gen != gen)
		return E_STALE;
	uint64_t nw = word_make(POT_REVOKING, owner, gen);
	return __atomic_compare_exchange_n(&pot[frame].word, &w, nw, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE)
		       ? E_OK
		       : E_STALE; /* it changed meanwhile: freed */
}
