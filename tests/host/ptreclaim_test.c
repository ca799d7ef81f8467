/*
 * Page tables under pressure (docs/kernel.md, "Page tables under pressure"):
 * an environment builds page tables up to its quota and leaves them empty;
 * with memory exhausted, another environment's FRAME_ALLOC gets them back —
 * never below the builder's guarantee (tables counted) — after a TLB
 * shootdown of the builder's home core; then both go on working, and at the
 * end the checker is clean and every frame is back.
 */
#include <exo/cap.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/pot.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include <percpu.h>
#include "support.h"

#define SPREAD (2ULL << 20) /* a page table each */
#define PT_LIMIT 24

static uint64_t sink[MEM_FRAMES], sink_gen[MEM_FRAMES];

TEST(ptreclaim, memory_pressure_takes_empty_page_tables_back)
{
	if (!setup(t))
		return;
	uint64_t free0 = frame_free_count();
	struct env *envs[3] = { mkenv(t, 0), mkenv(t, 1), mkenv(t, 2) };
	struct env *b = envs[0], *h = envs[1], *s = envs[2];
	ASSERT(t, b && h && s);
	/* The builder: one frame mapped 2 MiB apart, again and again, until its quota says no. */
	b->quota_limit[QUOTA_PT_FRAMES] = PT_LIMIT;
	int64_t f = SYS(b, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, f >= 0);
	int64_t err = 0;
	unsigned maps = 0;
	for (uint64_t i = 0; i < 4ULL * PT_LIMIT; i++) {
		if ((err = SYS(b, SYS_MAP, f, USER_BASE + i * SPREAD, PROT_R)))
			break;
		maps++;
		ASSERT_EQ(t, SYS(b, SYS_UNMAP, f), 0);
	}
	EXPECT_EQ(t, err, E_NOMEM);
	EXPECT_EQ(t, b->quota_used[QUOTA_PT_FRAMES], PT_LIMIT);
	EXPECT_EQ(t, b->frames_owned, PT_LIMIT + 1);
	INV(t);

	/* Memory exhausted: the sink holds every free frame (no capabilities: nothing revocable). */
	unsigned nsink = 0;
	while (frame_alloc_any(s->id, false, &sink[nsink], &sink_gen[nsink]) == E_OK) {
		__atomic_fetch_add(&s->frames_owned, 1, __ATOMIC_RELAXED);
		nsink++;
	}
	EXPECT_EQ(t, frame_free_count(), 0);

	/* Within the builder's guarantee (its tables counted) nothing is taken. */
	b->guarantee = b->frames_owned;
	EXPECT_EQ(t, SYS(h, SYS_FRAME_ALLOC, FRAME_ANY), E_NOMEM);
	EXPECT_EQ(t, b->quota_used[QUOTA_PT_FRAMES], PT_LIMIT);

	/*
	 * Above it, the empty tables go, each after a shootdown, one
	 * allocation's worth at a time, down to the guarantee: 2 frames, its
	 * root table and its one frame (so that frame is not revocable either).
	 */
	b->guarantee = 2;
	/* Capability-table pages are kernel frames charged like tables, never reclaimed. */
	unsigned bpages = b->caps.npages, hpages = h->caps.npages;
	uint64_t flushes = tlb_flushes(b->home);
	unsigned got = 0;
	int64_t slot;
	while ((slot = SYS(h, SYS_FRAME_ALLOC, FRAME_ANY)) >= 0)
		got++;
	kprintf("ptreclaim: %u maps built %u page tables; %u frames allocated under pressure "
		"from them, then %lld\n",
		maps, PT_LIMIT, got, (long long)slot);
	/* All but the root, less the pages h's own table grew on the way. */
	EXPECT_EQ(t, got, PT_LIMIT - 1 - bpages - (h->caps.npages - hpages));
	EXPECT_EQ(t, b->quota_used[QUOTA_PT_FRAMES], 1 + bpages);
	EXPECT_EQ(t, b->frames_owned, 2 + bpages);
	EXPECT(t, tlb_flushes(b->home) > flushes);
	/* Nothing else is reclaimable or revocable anywhere. */
	EXPECT_EQ(t, slot, E_NOMEM);
	INV(t);

	/* Both go on: the hog gives three back, the builder maps again (three new tables). */
	unsigned freed = 0;
	for (uint32_t x = 0; x < CAP_SLOTS && freed < 3; x++)
		if (info(h, x).type == OBJ_FRAME && SYS(h, SYS_FRAME_FREE, x) == 0)
			freed++;
	EXPECT_EQ(t, SYS(b, SYS_MAP, f, USER_BASE, PROT_R), 0);
	EXPECT_EQ(t, b->quota_used[QUOTA_PT_FRAMES], 4 + bpages);
	INV(t);

	/* No frame lost. */
	for (unsigned i = 0; i < nsink; i++) {
		EXPECT_EQ(t, frame_free(sink[i], s->id, sink_gen[i]), E_OK);
		__atomic_fetch_sub(&s->frames_owned, 1, __ATOMIC_RELAXED);
	}
	INV(t);
	teardown(t, envs, 3);
	EXPECT_EQ(t, frame_free_count(), free0);
}
