/*
 * The page-ownership table and frame allocation (core/pot.c, core/frame.c)
 * on the host. Each test builds its own table over a fake memory map with
 * holes, a reserved range, unaligned edges and a stand-in kernel range; the
 * table is a host array, the frames are simulated physical memory (frame
 * allocation zeroes them through arch_phys_to_virt). The concurrency test
 * runs four cores of a nested machine that allocate and free at once and
 * keep an owner map the table must agree with at every scheduling point.
 *
 * No environment may be alive while these run: they re-initialize the table.
 */
#include <arch/cpu.h>
#include <arch/phys.h>
#include <arch/sim.h>
#include <exo/boot.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/pot.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include <string.h>

#define MIB (1ULL << 20)

/* ---- the fake machine: 16 MiB, as firmware might describe it ---- */

#define MAP_BYTES (16 * MIB)
#define MAP_FRAMES (MAP_BYTES / PAGE_SIZE) /* 4096 */

/*
 *   [0, 0x9f000)              usable   frames 0..158 (frame 0: the kernel's anyway)
 *   [0x9f000, 0x100000)       reserved frames 159..255
 *   [0x100000, 0x800800)      usable   frames 256..2047 whole; 2048 only half
 *   [0x800800, 0x900800)      (no entry: a hole)
 *   [0x900800, 0x1000000)     usable   starts mid-page: first whole frame 2305
 * Kernel range [0x100000, 0x140000): frames 256..319 (image and table).
 */
static const struct boot_mem fake_map[] = {
	{ .base = 0, .len = 0x9f000, .usable = true },
	{ .base = 0x9f000, .len = 0x61000, .usable = false },
	{ .base = 0x100000, .len = 0x700800, .usable = true },
	{ .base = 0x900800, .len = 0x6ff800, .usable = true },
};
#define KERNEL_LO 0x100000ULL
#define KERNEL_HI 0x140000ULL

/* What pot_init must make of fake_map. */
static bool fake_free(uint64_t f)
{
	return (f >= 1 && f <= 158) || (f >= 320 && f <= 2047) || (f >= 2305 && f <= 4095);
}
#define FAKE_FREE (158 + (2047 - 320 + 1) + (4095 - 2305 + 1))

static struct pot_entry table[MAP_FRAMES];

/* Fresh table over fake_map. The frames live in the running machine's memory. */
static bool fake_setup(struct test_ctx *t)
{
	if (!EXPECT(t, env_count() == 0)) /* envs' frames would vanish under them */
		return false;
	if (!EXPECT(t, sim_phys_bytes() >= MAP_BYTES))
		return false;
	pot_init(table, MAP_FRAMES, fake_map, ARRAY_SIZE(fake_map), KERNEL_LO, KERNEL_HI);
	return true;
}

static uint8_t *frame_mem(uint64_t f) { return arch_phys_to_virt(pa_make(f * PAGE_SIZE)); }

static bool frame_is(uint64_t f, uint8_t byte)
{
	const uint8_t *p = frame_mem(f);
	for (size_t i = 0; i < PAGE_SIZE; i++)
		if (p[i] != byte)
			return false;
	return true;
}

/* Owners for these tests: any value below POT_NO_OWNER names one. */
#define A 7u
#define B 9u

/* ---- pot_init ---- */

TEST(pot, init_states)
{
	if (!fake_setup(t))
		return;
	EXPECT_EQ(t, pot_nframes(), MAP_FRAMES);
	unsigned wrong = 0;
	for (uint64_t f = 0; f < MAP_FRAMES; f++) {
		struct pot_view v = pot_get(f);
		enum pot_state want = fake_free(f) ? POT_FREE : POT_KERNEL;
		if (v.state != want || v.owner != POT_NO_OWNER || v.gen != 0 || v.mapped_on != 0) {
			if (wrong++ < 8)
				EXPECT_EQ(t, f, ~0ULL); /* names the first few wrong frames */
		}
	}
	EXPECT_EQ(t, wrong, 0);
	EXPECT_EQ(t, pot_get(0).state, POT_KERNEL);
	EXPECT_EQ(t, pot_get(159).state, POT_KERNEL);  /* reserved */
	EXPECT_EQ(t, pot_get(256).state, POT_KERNEL);  /* kernel range, inside usable RAM */
	EXPECT_EQ(t, pot_get(319).state, POT_KERNEL);
	EXPECT_EQ(t, pot_get(320).state, POT_FREE);
	EXPECT_EQ(t, pot_get(2048).state, POT_KERNEL); /* half a page of RAM is no frame */
	EXPECT_EQ(t, pot_get(2200).state, POT_KERNEL); /* hole */
	EXPECT_EQ(t, pot_get(2304).state, POT_KERNEL); /* RAM starts mid-page */
	EXPECT_EQ(t, pot_get(2305).state, POT_FREE);
	EXPECT_EQ(t, pot_count(POT_FREE), FAKE_FREE);
	EXPECT_EQ(t, frame_free_count(), FAKE_FREE);
	EXPECT_EQ(t, pot_count(POT_KERNEL), MAP_FRAMES - FAKE_FREE);
	EXPECT_EQ(t, pot_count(POT_OWNED), 0);
	EXPECT_EQ(t, pot_count(POT_REVOKING), 0);
}

/* A table shorter than the map: entries past its end are never written (ASan sees it). */
static struct pot_entry short_table[1000];

TEST(pot, init_stays_inside_the_table)
{
	if (!EXPECT(t, env_count() == 0))
		return;
	pot_init(short_table, ARRAY_SIZE(short_table), fake_map, ARRAY_SIZE(fake_map), KERNEL_LO,
		 KERNEL_HI);
	EXPECT_EQ(t, pot_nframes(), 1000);
	EXPECT_EQ(t, pot_count(POT_FREE), 158 + (999 - 320 + 1));
	uint64_t gen;
	EXPECT_EQ(t, pot_claim(1000, A, false, &gen), E_RANGE);
	/* Whatever a zero-frame table is, it is not a crash. */
	pot_init(short_table, 0, fake_map, ARRAY_SIZE(fake_map), 0, 0);
	EXPECT_EQ(t, pot_nframes(), 0);
	EXPECT_EQ(t, pot_claim(0, A, false, &gen), E_RANGE);
	EXPECT_EQ(t, pot_release(0, A, 0), E_RANGE);
}

/* ---- claim and release ---- */

/* The raw entry, to show that a failed call changed nothing. */
static struct pot_entry raw(uint64_t f) { return table[f]; }
static bool same(struct pot_entry a, struct pot_entry b)
{
	return a.word == b.word && a.mapped_on == b.mapped_on;
}

TEST(pot, claim_errors)
{
	if (!fake_setup(t))
		return;
	uint64_t gen = 12345;
	EXPECT_EQ(t, pot_claim(MAP_FRAMES, A, false, &gen), E_RANGE);
	EXPECT_EQ(t, pot_claim(~0ULL, A, false, &gen), E_RANGE);
	EXPECT_EQ(t, pot_claim(0, A, false, &gen), E_PERM);	 /* frame 0 */
	EXPECT_EQ(t, pot_claim(200, A, false, &gen), E_PERM);	 /* reserved */
	EXPECT_EQ(t, pot_claim(300, A, true, &gen), E_PERM);	 /* kernel image */
	EXPECT_EQ(t, pot_claim(2048, A, false, &gen), E_PERM);	 /* half page */
	EXPECT_EQ(t, pot_claim(2300, A, false, &gen), E_PERM);	 /* hole */
	EXPECT_EQ(t, gen, 12345);				 /* no out-value on error */
	EXPECT_EQ(t, pot_count(POT_FREE), FAKE_FREE);

	ASSERT_EQ(t, pot_claim(500, A, false, &gen), E_OK);
	EXPECT_EQ(t, gen, 0);
	struct pot_view v = pot_get(500);
	EXPECT_EQ(t, v.state, POT_OWNED);
	EXPECT_EQ(t, v.owner, A);
	EXPECT_EQ(t, v.gen, 0);
	struct pot_entry before = raw(500);
	uint64_t g2 = 999;
	EXPECT_EQ(t, pot_claim(500, A, false, &g2), E_BUSY); /* even for its owner */
	EXPECT_EQ(t, pot_claim(500, B, false, &g2), E_BUSY);
	EXPECT_EQ(t, pot_claim(500, B, true, &g2), E_BUSY);
	EXPECT_EQ(t, g2, 999);
	EXPECT(t, same(raw(500), before));

	/* Kernel use charged to an owner: POT_KERNEL, but it has an owner and can be released. */
	ASSERT_EQ(t, pot_claim(501, B, true, &gen), E_OK);
	v = pot_get(501);
	EXPECT_EQ(t, v.state, POT_KERNEL);
	EXPECT_EQ(t, v.owner, B);
	EXPECT_EQ(t, pot_claim(501, A, false, &g2), E_PERM);
	EXPECT_EQ(t, pot_count(POT_FREE), FAKE_FREE - 2);
	EXPECT_EQ(t, pot_count(POT_OWNED), 1);
	EXPECT_EQ(t, pot_release(501, B, gen), E_OK);
	EXPECT_EQ(t, pot_release(500, A, 0), E_OK);
	EXPECT_EQ(t, pot_count(POT_FREE), FAKE_FREE);
}

TEST(pot, release_errors)
{
	if (!fake_setup(t))
		return;
	uint64_t gen;
	ASSERT_EQ(t, pot_claim(600, A, false, &gen), E_OK);
	struct pot_entry before = raw(600);
	EXPECT_EQ(t, pot_release(MAP_FRAMES, A, gen), E_RANGE);
	EXPECT_EQ(t, pot_release(~0ULL, A, gen), E_RANGE);
	EXPECT_EQ(t, pot_release(600, B, gen), E_PERM);		   /* someone else's */
	EXPECT_EQ(t, pot_release(600, POT_NO_OWNER, gen), E_PERM); /* nobody's name */
	EXPECT_EQ(t, pot_release(600, A, gen + 1), E_STALE);
	EXPECT_EQ(t, pot_release(600, A, gen + 12345), E_STALE);
	EXPECT(t, same(raw(600), before));
	EXPECT_EQ(t, pot_release(601, A, 0), E_PERM);		/* free: nobody owns it */
	EXPECT_EQ(t, pot_release(601, POT_NO_OWNER, 0), E_PERM);
	EXPECT_EQ(t, pot_release(0, POT_NO_OWNER, 0), E_PERM);	/* the kernel's own */
	EXPECT_EQ(t, pot_release(300, POT_NO_OWNER, 0), E_PERM);
	EXPECT_EQ(t, pot_release(300, A, 0), E_PERM);
	EXPECT_EQ(t, pot_get(0).state, POT_KERNEL);
	EXPECT_EQ(t, pot_get(300).state, POT_KERNEL);
	EXPECT_EQ(t, pot_get(601).state, POT_FREE);
	EXPECT_EQ(t, pot_get(601).gen, 0);

	/* Mapped on two cores; release forgets where it was mapped and bumps the generation. */
	pot_note_mapped(600, 1);
	pot_note_mapped(600, 63);
	EXPECT_EQ(t, pot_get(600).mapped_on, (1ULL << 1) | (1ULL << 63));
	EXPECT_EQ(t, pot_release(600, A, gen), E_OK);
	struct pot_view v = pot_get(600);
	EXPECT_EQ(t, v.state, POT_FREE);
	EXPECT_EQ(t, v.owner, POT_NO_OWNER);
	EXPECT_EQ(t, v.gen, gen + 1);
	EXPECT_EQ(t, v.mapped_on, 0);
	/* Double release: the second finds it free. */
	EXPECT_EQ(t, pot_release(600, A, gen), E_PERM);
	EXPECT_EQ(t, pot_release(600, A, gen + 1), E_PERM);

	/* Freed and reclaimed by the same owner: the old generation is stale. */
	uint64_t gen2;
	ASSERT_EQ(t, pot_claim(600, A, false, &gen2), E_OK);
	EXPECT_EQ(t, gen2, gen + 1);
	EXPECT_EQ(t, pot_release(600, A, gen), E_STALE);
	EXPECT_EQ(t, pot_get(600).state, POT_OWNED);
	/* ... and by another owner: the old owner's release is refused by name first. */
	EXPECT_EQ(t, pot_release(600, A, gen2), E_OK);
	uint64_t gen3;
	ASSERT_EQ(t, pot_claim(600, B, false, &gen3), E_OK);
	EXPECT_EQ(t, pot_release(600, A, gen2), E_PERM);
	EXPECT_EQ(t, pot_release(600, B, gen3), E_OK);
	EXPECT_EQ(t, pot_count(POT_FREE), FAKE_FREE);
}

TEST(pot, generation_bumps_once_per_release)
{
	if (!fake_setup(t))
		return;
	for (uint64_t i = 0; i < 50; i++) {
		uint64_t gen;
		ASSERT_EQ(t, pot_claim(700, (uint32_t)(i % 3), i & 1, &gen), E_OK);
		EXPECT_EQ(t, gen, i);
		EXPECT_EQ(t, pot_get(700).gen, i); /* claiming does not bump it */
		ASSERT_EQ(t, pot_release(700, (uint32_t)(i % 3), gen), E_OK);
		EXPECT_EQ(t, pot_get(700).gen, i + 1);
	}
	/* Its neighbours never moved. */
	EXPECT_EQ(t, pot_get(699).gen, 0);
	EXPECT_EQ(t, pot_get(701).gen, 0);
}

/* ---- frame allocation ---- */

static uint8_t got[MAP_FRAMES];
static uint64_t gens[MAP_FRAMES];

TEST(frame, alloc_any_exhausts_then_recovers)
{
	if (!fake_setup(t))
		return;
	memset(got, 0, sizeof(got));
	uint64_t n = 0, f, gen;
	int err;
	while ((err = frame_alloc_any(A, false, &f, &gen)) == E_OK) {
		ASSERT(t, f < MAP_FRAMES);
		EXPECT(t, fake_free(f)); /* never a kernel frame, a hole or frame 0 */
		EXPECT(t, !got[f]);	 /* never the same frame twice */
		got[f] = 1;
		gens[f] = gen;
		EXPECT_EQ(t, pot_get(f).owner, A);
		EXPECT_EQ(t, gen, pot_get(f).gen);
		ASSERT(t, ++n <= FAKE_FREE);
	}
	EXPECT_EQ(t, err, E_NOMEM);
	EXPECT_EQ(t, n, FAKE_FREE);
	EXPECT_EQ(t, frame_free_count(), 0);
	EXPECT_EQ(t, pot_count(POT_OWNED), FAKE_FREE);
	/* Still nothing, however often it looks. */
	EXPECT_EQ(t, frame_alloc_any(A, false, &f, &gen), E_NOMEM);
	EXPECT_EQ(t, frame_alloc_any(B, true, &f, &gen), E_NOMEM);

	/* One frame freed anywhere is found by the next call. */
	uint64_t freed[] = { 1, 2047, 4095, 1000 };
	for (unsigned i = 0; i < ARRAY_SIZE(freed); i++) {
		uint64_t x = freed[i];
		ASSERT_EQ(t, frame_free(x, A, gens[x]), E_OK);
		EXPECT_EQ(t, frame_free_count(), 1);
		ASSERT_EQ(t, frame_alloc_any(B, false, &f, &gen), E_OK);
		EXPECT_EQ(t, f, x);
		EXPECT_EQ(t, gen, gens[x] + 1);
		EXPECT_EQ(t, pot_get(x).owner, B);
		EXPECT_EQ(t, frame_alloc_any(B, false, &f, &gen), E_NOMEM);
		ASSERT_EQ(t, frame_free(x, B, gens[x] + 1), E_OK);
		ASSERT_EQ(t, frame_alloc_at(x, A, false, &gens[x]), E_OK);
	}

	/* Give everything back: the free count is what it was. */
	for (uint64_t x = 0; x < MAP_FRAMES; x++)
		if (got[x])
			EXPECT_EQ(t, frame_free(x, A, gens[x]), E_OK);
	EXPECT_EQ(t, frame_free_count(), FAKE_FREE);
	EXPECT_EQ(t, pot_count(POT_OWNED), 0);
}

TEST(frame, alloc_at)
{
	if (!fake_setup(t))
		return;
	uint64_t gen = 77;
	EXPECT_EQ(t, frame_alloc_at(MAP_FRAMES, A, false, &gen), E_RANGE);
	EXPECT_EQ(t, frame_alloc_at(~0ULL, A, false, &gen), E_RANGE);
	EXPECT_EQ(t, frame_alloc_at(0, A, false, &gen), E_PERM);
	EXPECT_EQ(t, frame_alloc_at(KERNEL_LO / PAGE_SIZE, A, false, &gen), E_PERM);
	EXPECT_EQ(t, frame_alloc_at(180, A, false, &gen), E_PERM);
	EXPECT_EQ(t, gen, 77);
	ASSERT_EQ(t, frame_alloc_at(1234, A, false, &gen), E_OK);
	EXPECT_EQ(t, pot_get(1234).state, POT_OWNED);
	EXPECT_EQ(t, pot_get(1234).owner, A);
	EXPECT_EQ(t, frame_alloc_at(1234, B, false, &gen), E_BUSY);
	EXPECT_EQ(t, frame_alloc_at(1234, A, false, &gen), E_BUSY);
	uint64_t kgen;
	ASSERT_EQ(t, frame_alloc_at(1235, B, true, &kgen), E_OK);
	EXPECT_EQ(t, pot_get(1235).state, POT_KERNEL);
	EXPECT_EQ(t, pot_get(1235).owner, B);
	/* alloc_any never hands out what alloc_at took. */
	uint64_t f, g;
	unsigned n = 0;
	memset(got, 0, sizeof(got));
	while (frame_alloc_any(A, false, &f, &g) == E_OK) {
		EXPECT(t, f != 1234 && f != 1235);
		got[f] = 1;
		gens[f] = g;
		n++;
	}
	EXPECT_EQ(t, n, FAKE_FREE - 2);
	for (uint64_t x = 0; x < MAP_FRAMES; x++)
		if (got[x])
			EXPECT_EQ(t, frame_free(x, A, gens[x]), E_OK);
	EXPECT_EQ(t, frame_free(1234, B, 0), E_PERM);
	EXPECT_EQ(t, frame_free(1234, A, 0), E_OK);
	EXPECT_EQ(t, frame_free(1235, B, kgen), E_OK);
	EXPECT_EQ(t, frame_free_count(), FAKE_FREE);
}

TEST(frame, frames_come_back_zeroed)
{
	if (!fake_setup(t))
		return;
	/* Dirty every frame of the map, free or not. */
	for (uint64_t f = 0; f < MAP_FRAMES; f++)
		memset(frame_mem(f), 0xa5, PAGE_SIZE);
	uint64_t gen;
	ASSERT_EQ(t, frame_alloc_at(1500, A, false, &gen), E_OK);
	EXPECT(t, frame_is(1500, 0));
	EXPECT(t, frame_is(1499, 0xa5)); /* exactly the one frame */
	EXPECT(t, frame_is(1501, 0xa5));
	/* A failed claim zeroes nothing. */
	EXPECT_EQ(t, frame_alloc_at(300, A, false, &gen), E_PERM);
	EXPECT(t, frame_is(300, 0xa5));
	memset(frame_mem(1500), 0x5a, PAGE_SIZE);
	EXPECT_EQ(t, frame_alloc_at(1500, B, false, &gen), E_BUSY);
	EXPECT(t, frame_is(1500, 0x5a));
	/* Free and take again: the old owner's data is gone. */
	ASSERT_EQ(t, frame_free(1500, A, 0), E_OK);
	ASSERT_EQ(t, frame_alloc_at(1500, B, false, &gen), E_OK);
	EXPECT(t, frame_is(1500, 0));
	ASSERT_EQ(t, frame_free(1500, B, 1), E_OK);

	/* Every frame alloc_any hands out, data or kernel use, is zero. */
	uint64_t f, g, dirty = 0, n = 0;
	memset(got, 0, sizeof(got));
	memset(frame_mem(1500), 0xa5, PAGE_SIZE);
	while (frame_alloc_any(A, (n & 1) != 0, &f, &g) == E_OK) {
		dirty += !frame_is(f, 0);
		got[f] = 1;
		gens[f] = g;
		n++;
	}
	EXPECT_EQ(t, dirty, 0);
	EXPECT_EQ(t, n, FAKE_FREE);
	/* The kernel's frames were not touched. */
	EXPECT(t, frame_is(0, 0xa5));
	EXPECT(t, frame_is(256, 0xa5));
	EXPECT(t, frame_is(2048, 0xa5));
	for (uint64_t x = 0; x < MAP_FRAMES; x++)
		if (got[x])
			EXPECT_EQ(t, frame_free(x, A, gens[x]), E_OK);
	EXPECT_EQ(t, frame_free_count(), FAKE_FREE);
}

/* ---- many cores at once ---- */

/*
 * A nested 4-core machine with 1 MiB of memory: 256 frames, of which about
 * 220 are free, so the cores together ask for more than there is. Each core
 * allocates batches (by any and by name), yielding after every call, and
 * frees them in a random order. A core runs atomically between scheduling
 * points, so after every call the shared owner map must agree with the
 * table exactly: a frame is in the map iff it is owned, by that owner.
 */
#define CONC_CORES 4
#define CONC_BYTES MIB
#define CONC_FRAMES (CONC_BYTES / PAGE_SIZE)
#define CONC_ROUNDS 12
#define CONC_BATCH 96

static const struct boot_mem conc_map[] = {
	{ .base = 0, .len = 0x40000, .usable = true },
	{ .base = 0x40000, .len = 0x8000, .usable = false },
	{ .base = 0x48000, .len = CONC_BYTES - 0x48000, .usable = true },
};
#define CONC_KERNEL_HI (8 * PAGE_SIZE)
static bool conc_usable(uint64_t f) { return f >= 8 && (f < 0x40 || f >= 0x48); }

static struct pot_entry conc_table[CONC_FRAMES];

struct conc {
	uint64_t seed;
	uint32_t owner_of[CONC_FRAMES]; /* 0: nobody; else core + 1 */
	uint64_t releases[CONC_FRAMES]; /* how often each frame was released */
	uint64_t held;			/* frames held by all cores together */
	/* Violations, each counted where it was seen. */
	unsigned double_owner, table_disagrees, not_zero, tag_lost, bad_error, nomem_while_free;
	unsigned free_failed;
	/* What happened, to show the test did what it meant to. */
	unsigned allocs, nomems, busies, frees;
	unsigned finished;
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Does the table say exactly what owner_of says? (Cheap: 256 entries.) */
static bool conc_agrees(const struct conc *c)
{
	uint64_t owned = 0;
	for (uint64_t f = 0; f < CONC_FRAMES; f++) {
		struct pot_view v = pot_get(f);
		if (c->owner_of[f]) {
			if (v.state != POT_OWNED || v.owner != c->owner_of[f])
				return false;
			owned++;
		} else if (v.state == POT_OWNED) {
			return false;
		}
	}
	return owned == c->held;
}

static void conc_core(void *arg)
{
	struct conc *c = arg;
	unsigned me = sim_current();
	uint32_t owner = me + 1;
	uint64_t rng = c->seed * 1000003 + me;
	uint64_t held[CONC_BATCH], gen[CONC_BATCH];
	unsigned n = 0;
	arch_irq_enable();
	for (unsigned round = 0; round < CONC_ROUNDS; round++) {
		unsigned want = 1 + (unsigned)(splitmix(&rng) % CONC_BATCH);
		while (n < want) {
			uint64_t f = 0, g;
			int err;
			bool by_name = splitmix(&rng) % 4 == 0;
			if (by_name) {
				f = splitmix(&rng) % CONC_FRAMES;
				err = frame_alloc_at(f, owner, false, &g);
				/* The answer follows from what is known of f right now. */
				int want_err = !conc_usable(f) ? E_PERM : c->owner_of[f] ? E_BUSY : E_OK;
				c->bad_error += err != want_err;
			} else {
				err = frame_alloc_any(owner, false, &f, &g);
				if (err == E_NOMEM && frame_free_count() != 0)
					c->nomem_while_free++;
				c->bad_error += err != E_OK && err != E_NOMEM;
			}
			if (err == E_OK) {
				c->allocs++;
				c->double_owner += c->owner_of[f] != 0;
				c->not_zero += !frame_is(f, 0);
				c->owner_of[f] = owner;
				c->held++;
				/* Tag it: a second owner would have zeroed or retagged it. */
				memset(frame_mem(f), (int)owner, PAGE_SIZE);
				held[n] = f;
				gen[n] = g;
				n++;
			} else if (err == E_NOMEM) {
				c->nomems++;
				break; /* give some back first */
			} else if (err == E_BUSY) {
				c->busies++;
			}
			c->table_disagrees += !conc_agrees(c);
			sim_yield();
		}
		/* Free a random part of what it holds, in a random order. */
		unsigned keep = round + 1 == CONC_ROUNDS ? 0 : (unsigned)(splitmix(&rng) % (n + 1));
		while (n > keep) {
			unsigned i = (unsigned)(splitmix(&rng) % n);
			uint64_t f = held[i];
			c->tag_lost += !frame_is(f, (uint8_t)owner);
			c->double_owner += c->owner_of[f] != owner;
			c->owner_of[f] = 0;
			c->held--;
			if (frame_free(f, owner, gen[i]) != E_OK)
				c->free_failed++;
			c->releases[f]++;
			c->frees++;
			held[i] = held[--n];
			gen[i] = gen[n];
			c->table_disagrees += !conc_agrees(c);
			sim_yield();
		}
	}
	c->finished++;
}

static struct conc conc;

TEST(frame, concurrent_alloc_free_never_double_hands)
{
	if (!EXPECT(t, env_count() == 0))
		return;
	static const uint64_t seeds[] = { 1, 2, 3, 17, 4242, 987654321 };
	unsigned nomems = 0, busies = 0, allocs = 0;
	for (unsigned si = 0; si < ARRAY_SIZE(seeds); si++) {
		memset(&conc, 0, sizeof(conc));
		conc.seed = seeds[si];
		sim_init(&(struct sim_config){ .ncores = CONC_CORES, .seed = seeds[si],
					       .phys_bytes = CONC_BYTES, .stack_bytes = 256 << 10 });
		pot_init(conc_table, CONC_FRAMES, conc_map, ARRAY_SIZE(conc_map), 0, CONC_KERNEL_HI);
		uint64_t free0 = frame_free_count();
		for (unsigned c = 0; c < CONC_CORES; c++)
			sim_start(c, conc_core, &conc);
		int err = sim_run(10ULL * 1000 * 1000);
		uint64_t free1 = frame_free_count();
		uint64_t counts = pot_count(POT_FREE) + pot_count(POT_OWNED) +
				  pot_count(POT_KERNEL) + pot_count(POT_REVOKING);
		unsigned gen_wrong = 0;
		for (uint64_t f = 0; f < CONC_FRAMES; f++)
			gen_wrong += pot_get(f).gen != conc.releases[f];
		sim_fini();

		EXPECT_EQ(t, err, E_OK);
		EXPECT_EQ(t, conc.finished, CONC_CORES);
		EXPECT_EQ(t, conc.double_owner, 0);
		EXPECT_EQ(t, conc.table_disagrees, 0);
		EXPECT_EQ(t, conc.not_zero, 0);
		EXPECT_EQ(t, conc.tag_lost, 0);
		EXPECT_EQ(t, conc.bad_error, 0);
		EXPECT_EQ(t, conc.nomem_while_free, 0);
		EXPECT_EQ(t, conc.free_failed, 0);
		EXPECT_EQ(t, conc.held, 0);
		EXPECT_EQ(t, conc.allocs, conc.frees);
		EXPECT_EQ(t, free1, free0);
		EXPECT_EQ(t, counts, CONC_FRAMES);
		EXPECT_EQ(t, gen_wrong, 0); /* one bump per release, none lost */
		if (t->failures) {
			kprintf("frame.concurrent: seed %llu\n", (unsigned long long)seeds[si]);
			return;
		}
		nomems += conc.nomems;
		busies += conc.busies;
		allocs += conc.allocs;
	}
	kprintf("frame.concurrent: %u seeds, %u allocations, %u E_NOMEM, %u E_BUSY\n",
		(unsigned)ARRAY_SIZE(seeds), allocs, nomems, busies);
	/* The cores did run out of memory and did collide on named frames. */
	EXPECT(t, nomems > 0);
	EXPECT(t, busies > 0);
}

/* The frames the table has in pre-zeroed pools now. */
static uint64_t pooled(void)
{
	uint64_t n = 0;
	for (uint64_t f = 0; f < MAP_FRAMES; f++) {
		struct pot_view v = pot_get(f);
		n += v.state == POT_KERNEL && v.owner == POT_POOL;
	}
	return n;
}

TEST(frame, zero_ahead_pool_hands_out_zero_frames_and_hides_none)
{
	if (!fake_setup(t))
		return;
	for (uint64_t f = 0; f < MAP_FRAMES; f++)
		memset(frame_mem(f), 0xa5, PAGE_SIZE);
	/* Off: nothing is zeroed ahead. */
	EXPECT(t, !frame_zero_ahead());
	frame_zero_ahead_enable(1);
	unsigned target = FAKE_FREE / 16;
	/* false also for a scanned chunk with no free frame (a hole): go on past those */
	for (unsigned steps = 0; steps < 10000 && frame_zero_pool_count() < target; steps++)
		(void)frame_zero_ahead();
	EXPECT(t, !frame_zero_ahead()); /* full */
	EXPECT_EQ(t, frame_zero_pool_count(), target);
	EXPECT_EQ(t, pooled(), target);
	/* Still free to everyone: counted as free, and claimable by name. */
	EXPECT_EQ(t, frame_free_count(), FAKE_FREE);
	EXPECT_EQ(t, pot_count(POT_FREE), FAKE_FREE - target);
	EXPECT_EQ(t, invariant_check(), 0);
	uint64_t byname = MAP_FRAMES, gen;
	for (uint64_t f = 0; f < MAP_FRAMES && byname == MAP_FRAMES; f++)
		if (pot_get(f).state == POT_KERNEL && pot_get(f).owner == POT_POOL)
			byname = f;
	ASSERT(t, byname < MAP_FRAMES);
	EXPECT(t, frame_is(byname, 0));
	ASSERT_EQ(t, frame_alloc_at(byname, A, false, &gen), E_OK);
	EXPECT_EQ(t, pot_get(byname).owner, A);
	/* Dirty it and free it: it goes back dirty and FREE, not into a pool. */
	memset(frame_mem(byname), 0x77, PAGE_SIZE);
	ASSERT_EQ(t, frame_free(byname, A, gen), E_OK);
	EXPECT_EQ(t, pot_get(byname).state, POT_FREE);
	/* Every frame alloc_any hands out is zero; none is hidden in the pool. */
	uint64_t f, g, n = 0, dirty = 0;
	while (frame_alloc_any(B, false, &f, &g) == E_OK) {
		dirty += !frame_is(f, 0);
		n++;
	}
	EXPECT_EQ(t, dirty, 0);
	EXPECT_EQ(t, n, FAKE_FREE);
	EXPECT_EQ(t, pooled(), 0);
	EXPECT_EQ(t, frame_free_count(), 0);
	/* A pooled frame that is not zero is a broken invariant the checker names. */
	frame_zero_ahead_enable(0);
	ASSERT(t, fake_setup(t));
	frame_zero_ahead_enable(1);
	(void)frame_zero_ahead();
	for (f = 0; f < MAP_FRAMES; f++)
		if (pot_get(f).state == POT_KERNEL && pot_get(f).owner == POT_POOL)
			break;
	ASSERT(t, f < MAP_FRAMES);
	frame_mem(f)[100] = 1;
	EXPECT_EQ(t, invariant_check(), 1);
	frame_mem(f)[100] = 0;
	EXPECT_EQ(t, invariant_check(), 0);
	frame_zero_ahead_enable(0);
	(void)fake_setup(t);
}
