/*
 * The exported disk (core/disk.c) on the host, over the in-memory stand-in
 * (core/arch/host/disk.c: requests stay in flight until the next poll and
 * finish newest first). Every bad input of the five calls with a snapshot
 * around it (support.h's, which includes the disk's ranges and requests);
 * the cases ring 3 cannot set up on purpose — a frame the caller holds but
 * does not own, a device error, an environment gone with requests in
 * flight — and the promise that a frame or a range never changes hands
 * while a request names it, seen deterministically.
 */
#include <arch/phys.h>
#include <arch/sim.h>
#include <exo/disk.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/revoke.h>
#include <exo/string.h>
#include <exo/test.h>
#include "support.h"

#define HOST_DISK_BLOCKS 256 /* test_main.c's machine */

/* A fresh frame for e mapped read-write at va: its slot (its bytes via frame_mem). */
static int64_t page_at(struct test_ctx *t, struct env *e, uint64_t va)
{
	int64_t s = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
	if (!EXPECT(t, s >= 0) || !EXPECT_EQ(t, SYS(e, SYS_MAP, s, va, PROT_R | PROT_W), 0))
		return -1;
	return s;
}

static uint8_t *bytes_of(struct env *e, int64_t slot)
{
	return frame_mem(obj_of(e, slot));
}

TEST(disk, info_and_a_round_trip)
{
	if (!setup(t))
		return;
	struct env *envs[1] = { mkenv(t, 0) };
	struct env *e = envs[0];
	ASSERT(t, e);
	int64_t out = page_at(t, e, OUT_VA), f = page_at(t, e, VA(1));
	ASSERT(t, out >= 0 && f >= 0);
	EXPECT_EQ(t, SYS(e, SYS_DISK_INFO, OUT_VA), 0);
	struct disk_info di;
	memcpy(&di, bytes_of(e, out), sizeof(di));
	EXPECT_EQ(t, di.blocks, HOST_DISK_BLOCKS);
	EXPECT_EQ(t, di.free_blocks, HOST_DISK_BLOCKS);
	EXPECT_EQ(t, di.block_size, BLOCK_SIZE);
	EXPECT_EQ(t, di.inflight_max, DISK_INFLIGHT_ENV);

	int64_t b = SYS(e, SYS_BLOCK_ALLOC, 40, 2);
	ASSERT(t, b >= 0);
	memset(bytes_of(e, f), 0xab, PAGE_SIZE);
	int64_t id = SYS(e, SYS_BLOCK_IO, b, 1, f, BLOCK_WRITE, 0);
	ASSERT(t, id >= 0);
	EXPECT_EQ(t, sim_disk_pending(), 1); /* in flight until polled */
	EXPECT_EQ(t, sim_disk_block(41)[0], 0);
	INV(t);
	EXPECT_EQ(t, SYS(e, SYS_BLOCK_WAIT, id, BLOCK_POLL), 0);
	EXPECT_EQ(t, sim_disk_block(41)[0], 0xab);
	EXPECT_EQ(t, sim_disk_block(41)[PAGE_SIZE - 1], 0xab);
	EXPECT_EQ(t, SYS(e, SYS_BLOCK_WAIT, id, BLOCK_POLL), E_NOENT); /* collected */
	/* And back: the disk's bytes land in the frame. */
	sim_disk_block(40)[7] = 0x5c;
	id = SYS(e, SYS_BLOCK_IO, b, 0, f, BLOCK_READ, 0);
	EXPECT_EQ(t, SYS(e, SYS_BLOCK_WAIT, id, BLOCK_POLL), 0);
	EXPECT_EQ(t, bytes_of(e, f)[7], 0x5c);
	EXPECT_EQ(t, bytes_of(e, f)[8], 0);
	EXPECT_EQ(t, SYS(e, SYS_BLOCK_FREE, b), 0);
	INV(t);
	teardown(t, envs, 1);
}

TEST(disk, bad_inputs_change_nothing)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), mkenv(t, 1) };
	struct env *e = envs[0], *o = envs[1];
	ASSERT(t, e && o);
	int64_t f = page_at(t, e, VA(1)), b = SYS(e, SYS_BLOCK_ALLOC, BLOCK_ANY, 4);
	ASSERT(t, f >= 0 && b >= 0);
	int64_t ro = SYS(e, SYS_CAP_MINT, b, CAP_R_READ, 0),
		wo = SYS(e, SYS_CAP_MINT, b, CAP_R_WRITE, 0);
	int64_t fro = SYS(e, SYS_CAP_MINT, f, CAP_R_READ, 0),
		fwo = SYS(e, SYS_CAP_MINT, f, CAP_R_WRITE, 0);
	/* A frame o owns, held by e through a granted copy: e may not move data through it. */
	int64_t of = SYS(o, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, ro >= 0 && wo >= 0 && fro >= 0 && fwo >= 0 && of >= 0);
	/* Granted by the kernel's own call: o holds no capability to e. */
	uint32_t lent;
	ASSERT(t, cap_grant(o, (uint32_t)of, e, false, &lent) == E_OK);
	const uint64_t N = HOST_DISK_BLOCKS;

	FAILS_CLEANLY(t, envs, SYS(e, SYS_DISK_INFO, 0), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_DISK_INFO, RO_VA), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_DISK_INFO, HOLE_VA), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_DISK_INFO, 0xffffffff80000000ULL), E_FAULT);

	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_ALLOC, 0, 0), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_ALLOC, BLOCK_ANY, 0), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_ALLOC, N, 1), E_RANGE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_ALLOC, N - 1, 2), E_RANGE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_ALLOC, 1, ~0ULL), E_RANGE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_ALLOC, ~0ULL - 1, 2), E_RANGE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_ALLOC, BLOCK_ANY, N + 1), E_RANGE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_ALLOC, BLOCK_ANY, N), E_NOMEM); /* 4 are taken */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_ALLOC, obj_of(e, b) & 0xffffffff, 1), E_BUSY);

	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_FREE, CAP_SLOTS), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_FREE, ~0ULL), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_FREE, (1ULL << 32) | (uint64_t)b), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_FREE, f), E_TYPE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_FREE, ro), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_FREE, b), E_BUSY);

	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, b, 0, f, 2, 0), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, b, 0, f, ~0ULL, 0), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, b, 0, f, BLOCK_READ, 1ULL << 63), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, CAP_SLOTS, 0, f, BLOCK_READ, 0), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, f, 0, f, BLOCK_READ, 0), E_TYPE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, b, 4, f, BLOCK_READ, 0), E_RANGE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, b, ~0ULL, f, BLOCK_READ, 0), E_RANGE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, wo, 0, f, BLOCK_READ, 0), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, ro, 0, f, BLOCK_WRITE, 0), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, b, 0, CAP_SLOTS, BLOCK_READ, 0), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, b, 0, b, BLOCK_READ, 0), E_TYPE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, b, 0, fro, BLOCK_READ, 0), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, b, 0, fwo, BLOCK_WRITE, 0), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, b, 0, lent, BLOCK_READ, 0), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, b, 0, lent, BLOCK_WRITE, 0), E_PERM);

	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_WAIT, 0, BLOCK_POLL), E_NOENT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_WAIT, 0xff, BLOCK_POLL), E_NOENT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_WAIT, ~0ULL, BLOCK_POLL), E_NOENT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_WAIT, 0, 2), E_INVAL);
	/* Someone else's request is not the caller's to collect. */
	int64_t id = SYS(e, SYS_BLOCK_IO, b, 0, f, BLOCK_WRITE, 0);
	ASSERT(t, id >= 0);
	FAILS_CLEANLY(t, envs, SYS(o, SYS_BLOCK_WAIT, id, BLOCK_POLL), E_NOENT);
	EXPECT_EQ(t, SYS(e, SYS_BLOCK_WAIT, id, BLOCK_POLL), 0);

	EXPECT_EQ(t, cap_delete(e, lent), E_OK);
	EXPECT_EQ(t, SYS(e, SYS_CAP_REVOKE, b), 0);
	EXPECT_EQ(t, SYS(e, SYS_BLOCK_FREE, b), 0);
	teardown(t, envs, 2);
}

TEST(disk, without_a_device_every_call_is_e_notsup)
{
	sim_disk_set_blocks(0);
	bool ok = setup(t); /* disk_init finds no device */
	struct env *envs[1] = { ok ? mkenv(t, 0) : NULL };
	struct env *e = envs[0];
	if (e) {
		EXPECT_EQ(t, disk_blocks(), 0);
		FAILS_CLEANLY(t, envs, SYS(e, SYS_DISK_INFO, OUT_VA), E_NOTSUP);
		FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_ALLOC, BLOCK_ANY, 1), E_NOTSUP);
		FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_ALLOC, 0, 0), E_NOTSUP);
		FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, 0, 0, 0, 0, 0), E_NOTSUP);
		FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_WAIT, 0, 0), E_NOTSUP);
		FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_FREE, CAP_SLOTS), E_BADSLOT);
		teardown(t, envs, 1);
	}
	sim_disk_set_blocks(HOST_DISK_BLOCKS); /* the next setup() has the disk again */
}

TEST(disk, a_frame_never_changes_hands_with_a_request_in_flight)
{
	if (!setup(t))
		return;
	struct env *envs[1] = { mkenv(t, 0) };
	struct env *e = envs[0];
	ASSERT(t, e);
	int64_t b = SYS(e, SYS_BLOCK_ALLOC, 0, 3);
	sim_disk_block(0)[0] = 0x11;
	sim_disk_block(1)[0] = 0x22;
	sim_disk_block(2)[0] = 0x33;

	/* Freed by its owner: the free waits for the read, which lands before the frame goes. */
	int64_t f = page_at(t, e, VA(1));
	uint64_t n = obj_of(e, f);
	int64_t id = SYS(e, SYS_BLOCK_IO, b, 0, f, BLOCK_READ, 0);
	ASSERT(t, id >= 0);
	EXPECT_EQ(t, SYS(e, SYS_FRAME_FREE, f), 0);
	EXPECT_EQ(t, sim_disk_pending(), 0);
	EXPECT_EQ(t, pot_get(n).state, POT_FREE);
	EXPECT_EQ(t, SYS(e, SYS_BLOCK_WAIT, id, BLOCK_POLL), 0); /* done, and still collectable */
	INV(t);

	/* Taken by the kernel (the abort protocol): the same. */
	f = page_at(t, e, VA(2));
	n = obj_of(e, f);
	id = SYS(e, SYS_BLOCK_IO, b, 1, f, BLOCK_READ, 0);
	ASSERT(t, id >= 0);
	EXPECT_EQ(t, revoke_take(e, n), E_OK);
	EXPECT_EQ(t, sim_disk_pending(), 0);
	EXPECT_EQ(t, pot_get(n).state, POT_FREE);
	EXPECT_EQ(t, frame_mem(n)[0], 0x22); /* it landed before the frame was let go */
	EXPECT_EQ(t, SYS(e, SYS_BLOCK_WAIT, id, BLOCK_POLL), 0);
	INV(t);

	/* The range freed with a write in flight: the write finishes first. */
	f = page_at(t, e, VA(3));
	memset(bytes_of(e, f), 0x44, PAGE_SIZE);
	id = SYS(e, SYS_BLOCK_IO, b, 2, f, BLOCK_WRITE, 0);
	ASSERT(t, id >= 0);
	EXPECT_EQ(t, SYS(e, SYS_BLOCK_FREE, b), 0);
	EXPECT_EQ(t, sim_disk_pending(), 0);
	EXPECT_EQ(t, sim_disk_block(2)[0], 0x44);
	INV(t);
	teardown(t, envs, 1);
}

TEST(disk, limits_errors_notifications_and_leftovers)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), mkenv(t, 1) };
	struct env *e = envs[0], *o = envs[1];
	ASSERT(t, e && o);
	int64_t f = page_at(t, e, VA(1)), b = SYS(e, SYS_BLOCK_ALLOC, BLOCK_ANY, 8);
	ASSERT(t, f >= 0 && b >= 0);
	/* The per-environment limit: E_AGAIN, nothing issued. */
	int64_t ids[DISK_INFLIGHT_ENV];
	for (unsigned i = 0; i < DISK_INFLIGHT_ENV; i++)
		EXPECT(t, (ids[i] = SYS(e, SYS_BLOCK_IO, b, i % 8, f, BLOCK_READ, 0)) >= 0);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_BLOCK_IO, b, 0, f, BLOCK_READ, 0), E_AGAIN);
	for (unsigned i = 0; i < DISK_INFLIGHT_ENV; i++)
		EXPECT_EQ(t, SYS(e, SYS_BLOCK_WAIT, ids[i], BLOCK_POLL), 0);

	/* A device error is the request's result, E_IO. */
	sim_disk_fail(obj_of(e, b) & 0xffffffff);
	int64_t id = SYS(e, SYS_BLOCK_IO, b, 0, f, BLOCK_READ, 0);
	EXPECT_EQ(t, SYS(e, SYS_BLOCK_WAIT, id, BLOCK_POLL), E_IO);
	sim_disk_fail(~0ULL);

	/* Completion ORs the bits in (found by a poll: here, the scheduler loop's). */
	__atomic_store_n(&e->notify_bits, 0, __ATOMIC_RELAXED);
	id = SYS(e, SYS_BLOCK_IO, b, 1, f, BLOCK_WRITE, 0x30);
	ASSERT(t, id >= 0);
	EXPECT_EQ(t, e->notify_bits, 0);
	disk_poll(); /* e is homed on another core: the bits travel there as a message */
	for (unsigned i = 0; i < 100000 && !__atomic_load_n(&e->notify_bits, __ATOMIC_ACQUIRE); i++)
		sim_yield();
	EXPECT_EQ(t, __atomic_load_n(&e->notify_bits, __ATOMIC_ACQUIRE), 0x30);
	EXPECT_EQ(t, SYS(e, SYS_BLOCK_WAIT, id, BLOCK_POLL), 0);

	/* An environment destroyed with requests in flight and done: its tags come back. */
	for (unsigned i = 0; i < DISK_INFLIGHT_ENV - 4; i++)
		EXPECT(t, SYS(e, SYS_BLOCK_IO, b, i % 8, f, BLOCK_READ, 0) >= 0);
	disk_poll(); /* most done (and never collected)... */
	for (unsigned i = 0; i < 4; i++)
		EXPECT(t, SYS(e, SYS_BLOCK_IO, b, i, f, BLOCK_READ, 0) >=
			      0); /* ...the rest in flight */
	EXPECT_EQ(t, env_destroy(e), E_OK);
	envs[0] = NULL;
	EXPECT_EQ(t, sim_disk_pending(), 0); /* its frames waited for its requests */
	INV(t);
	int64_t of = page_at(t, o, VA(1)), ob = SYS(o, SYS_BLOCK_ALLOC, BLOCK_ANY, 1);
	ASSERT(t, of >= 0 && ob >= 0);
	for (unsigned i = 0; i < DISK_INFLIGHT_ENV; i++)
		EXPECT(t, (ids[i] = SYS(o, SYS_BLOCK_IO, ob, 0, of, BLOCK_READ, 0)) >= 0);
	for (unsigned i = 0; i < DISK_INFLIGHT_ENV; i++)
		EXPECT_EQ(t, SYS(o, SYS_BLOCK_WAIT, ids[i], BLOCK_POLL), 0);
	EXPECT_EQ(t, SYS(o, SYS_BLOCK_FREE, ob), 0);
	teardown(t, envs, 2);
}
