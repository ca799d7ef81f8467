/*
 * The exported disk from ring 3 (docs/syscalls.md, SYS_DISK_INFO ..
 * SYS_BLOCK_WAIT): data written comes back, requests overlap and finish by
 * polling, waiting or notification, ranges are capabilities like any other,
 * and every bad input gets its documented error and changes nothing (the
 * disk's free count, the capability table's occupied slots, and the
 * invariant checker are read back around each).
 *
 * arg 0: with a disk attached (the guest test boots with one); arg 1: no
 * disk, where every call is E_NOTSUP; arg 2: write and read back blocks of
 * its own, many rounds, beside copies on other cores. Exit status: failed
 * tests (or checks).
 */
#include <exo/string.h>
#include <exo/test.h>
#include <libos/libos.h>

#define WIN 0x50000000ULL /* where the test maps its frames */
#define NFRAMES 8
#define DISK_LIMIT_PROBE 128 /* more requests than any limit */

static uint64_t frames[NFRAMES]; /* root frame caps, mapped at WIN + i pages */
static struct disk_info info;

static uint8_t *page(unsigned i)
{
	return (uint8_t *)(uintptr_t)(WIN + i * PAGE_SIZE);
}

static void fill(unsigned i, uint64_t seed)
{
	uint64_t *w = (uint64_t *)page(i);
	for (unsigned k = 0; k < PAGE_SIZE / 8; k++)
		w[k] = seed * 0x9e3779b97f4a7c15ULL + k;
}

static bool holds(unsigned i, uint64_t seed)
{
	const uint64_t *w = (const uint64_t *)page(i);
	for (unsigned k = 0; k < PAGE_SIZE / 8; k++)
		if (w[k] != seed * 0x9e3779b97f4a7c15ULL + k)
			return false;
	return true;
}

static int64_t io_wait(uint64_t blocks, uint64_t block, unsigned frame, unsigned op)
{
	int64_t id = sys_block_io(blocks, block, frames[frame], op, 0);
	return id < 0 ? id : sys_block_wait((uint64_t)id, BLOCK_WAIT_DONE);
}

/* What a bad call must leave as it was: the slots this program uses (its table stays below). */
#define SNAP_SLOTS 512
struct snap {
	uint64_t free_blocks;
	uint32_t types[SNAP_SLOTS];
};

static void snap(struct snap *s)
{
	struct disk_info di = { 0 };
	s->free_blocks = sys_disk_info(&di) == 0 ? di.free_blocks : ~0ULL;
	for (unsigned i = 0; i < SNAP_SLOTS; i++) {
		struct cap_info ci = { 0 };
		s->types[i] = sys_cap_inspect(i, &ci) == 0 ? ci.type : 0;
	}
}

#define UNCHANGED(t, before)                                                                       \
	do {                                                                                       \
		struct snap after_;                                                                \
		snap(&after_);                                                                     \
		EXPECT_EQ(t, after_.free_blocks, (before).free_blocks);                            \
		EXPECT_EQ(t, memcmp(after_.types, (before).types, sizeof(after_.types)), 0);       \
		EXPECT_EQ(t, sys_debug_check(), 0);                                                \
	} while (0)

TEST(disk, info_names_the_disk)
{
	EXPECT_EQ(t, info.block_size, BLOCK_SIZE);
	EXPECT(t, info.blocks >= 64);
	EXPECT_EQ(t, info.free_blocks, info.blocks);
	EXPECT_EQ(t, info.inflight_max, 32);
	EXPECT(t, info.inflight_device >= 1);
	EXPECT_EQ(t, sys_disk_info((struct disk_info *)(uintptr_t)0xffffffff80000000ULL), E_FAULT);
	EXPECT_EQ(t, sys_disk_info((struct disk_info *)(uintptr_t)main), E_FAULT); /* read-only */
}

TEST(disk, written_blocks_read_back)
{
	int64_t b = sys_block_alloc(BLOCK_ANY, 8);
	EXPECT(t, b >= 0);
	struct cap_info ci = { 0 };
	EXPECT_EQ(t, sys_cap_inspect((uint64_t)b, &ci), 0);
	EXPECT_EQ(t, ci.type, OBJ_BLOCKS);
	EXPECT_EQ(t, ci.object >> 32, 8); /* count << 32 | first */
	for (unsigned i = 0; i < 4; i++) {
		fill(i, 100 + i);
		EXPECT_EQ(t, io_wait((uint64_t)b, i, i, BLOCK_WRITE), 0);
	}
	for (unsigned i = 0; i < 4; i++) {
		memset(page(4 + i), 0, PAGE_SIZE);
		EXPECT_EQ(t, io_wait((uint64_t)b, i, 4 + i, BLOCK_READ), 0);
		EXPECT(t, holds(4 + i, 100 + i));
	}
	/* A block never written reads back as zeros (a fresh sparse image). */
	fill(0, 7);
	EXPECT_EQ(t, io_wait((uint64_t)b, 7, 0, BLOCK_READ), 0);
	EXPECT_EQ(t, ((uint64_t *)page(0))[0], 0);
	EXPECT_EQ(t, sys_block_free((uint64_t)b), 0);
	EXPECT_EQ(t, sys_cap_inspect((uint64_t)b, &ci), E_BADSLOT);
}

TEST(disk, many_requests_in_flight_finish_by_polling)
{
	int64_t b = sys_block_alloc(BLOCK_ANY, NFRAMES);
	EXPECT(t, b >= 0);
	int64_t id[NFRAMES];
	for (unsigned i = 0; i < NFRAMES; i++) {
		fill(i, 500 + i);
		id[i] = sys_block_io((uint64_t)b, i, frames[i], BLOCK_WRITE, 0);
		EXPECT(t, id[i] >= 0);
	}
	for (unsigned i = 0, left = NFRAMES; left; i = (i + 1) % NFRAMES) {
		if (id[i] < 0)
			continue;
		int64_t r = sys_block_wait((uint64_t)id[i], BLOCK_POLL);
		EXPECT(t, r == 0 || r == E_AGAIN);
		if (r != E_AGAIN) {
			id[i] = -1;
			left--;
		}
	}
	for (unsigned i = 0; i < NFRAMES; i++) {
		memset(page(i), 0, PAGE_SIZE);
		EXPECT_EQ(t, io_wait((uint64_t)b, i, i, BLOCK_READ), 0);
		EXPECT(t, holds(i, 500 + i));
	}
	EXPECT_EQ(t, sys_block_free((uint64_t)b), 0);
}

TEST(disk, completion_notifies)
{
	int64_t b = sys_block_alloc(BLOCK_ANY, 1);
	(void)sys_call6(SYS_NOTIFY_TAKE, 0, 0, 0, 0, 0, 0);
	int64_t id = sys_block_io((uint64_t)b, 0, frames[0], BLOCK_WRITE, 1ULL << 40);
	EXPECT(t, id >= 0);
	uint64_t bits = 0;
	for (unsigned i = 0; i < 1000000 && !bits; i++)
		if (!(bits = (uint64_t)sys_call6(SYS_NOTIFY_TAKE, 0, 0, 0, 0, 0, 0)))
			sys_yield();
	EXPECT_EQ(t, bits, 1ULL << 40);
	EXPECT_EQ(t, sys_block_wait((uint64_t)id, BLOCK_POLL), 0);
	EXPECT_EQ(t, sys_block_wait((uint64_t)id, BLOCK_POLL), E_NOENT); /* collected */
	EXPECT_EQ(t, sys_block_free((uint64_t)b), 0);
}

TEST(disk, allocation_is_exposed)
{
	int64_t a = sys_block_alloc(10, 5); /* exactly [10, 15) */
	EXPECT(t, a >= 0);
	struct cap_info ci = { 0 };
	EXPECT_EQ(t, sys_cap_inspect((uint64_t)a, &ci), 0);
	EXPECT_EQ(t, ci.object, 10 | 5ULL << 32);
	EXPECT_EQ(t, sys_block_alloc(12, 1), E_BUSY); /* inside */
	EXPECT_EQ(t, sys_block_alloc(8, 3), E_BUSY);  /* overlaps its start */
	EXPECT_EQ(t, sys_block_alloc(14, 4), E_BUSY); /* overlaps its end */
	int64_t c = sys_block_alloc(15, 1);	      /* just after: fine */
	EXPECT(t, c >= 0);
	int64_t any = sys_block_alloc(BLOCK_ANY, 10); /* the first gap that fits: [0, 10) */
	EXPECT_EQ(t, sys_cap_inspect((uint64_t)any, &ci), 0);
	EXPECT_EQ(t, ci.object, 0 | 10ULL << 32);
	EXPECT_EQ(t, sys_block_free((uint64_t)a), 0);
	EXPECT_EQ(t, sys_block_free((uint64_t)c), 0);
	EXPECT_EQ(t, sys_block_free((uint64_t)any), 0);
	struct disk_info di = { 0 };
	EXPECT_EQ(t, sys_disk_info(&di), 0);
	EXPECT_EQ(t, di.free_blocks, info.blocks);
}

TEST(disk, a_range_is_a_capability)
{
	int64_t b = sys_block_alloc(BLOCK_ANY, 2);
	fill(0, 42);
	EXPECT_EQ(t, io_wait((uint64_t)b, 1, 0, BLOCK_WRITE), 0);
	/* A read-only child reads, and cannot write. */
	int64_t ro = sys_cap_mint((uint64_t)b, CAP_R_READ, 7);
	EXPECT(t, ro >= 0);
	memset(page(1), 0, PAGE_SIZE);
	EXPECT_EQ(t, io_wait((uint64_t)ro, 1, 1, BLOCK_READ), 0);
	EXPECT(t, holds(1, 42));
	EXPECT_EQ(t, sys_block_io((uint64_t)ro, 1, frames[0], BLOCK_WRITE, 0), E_PERM);
	/* Neither a child nor a root with children frees the range. */
	EXPECT_EQ(t, sys_block_free((uint64_t)ro), E_PERM);
	EXPECT_EQ(t, sys_block_free((uint64_t)b), E_BUSY);
	/* Revoke kills the child; the root goes on. */
	EXPECT_EQ(t, sys_cap_revoke((uint64_t)b), 0);
	EXPECT_EQ(t, sys_block_io((uint64_t)ro, 1, frames[1], BLOCK_READ, 0), E_BADSLOT);
	/* A freed range's other capabilities are stale. */
	int64_t child = sys_cap_mint((uint64_t)b, CAP_R_ALL, 0);
	EXPECT(t, child >= 0);
	EXPECT_EQ(t, sys_cap_delete((uint64_t)child), 0);
	EXPECT_EQ(t, sys_block_free((uint64_t)b), 0);
}

TEST(disk, bad_inputs_change_nothing)
{
	int64_t b = sys_block_alloc(BLOCK_ANY, 4);
	int64_t ro = sys_cap_mint((uint64_t)b, CAP_R_READ, 0);
	int64_t wo = sys_cap_mint((uint64_t)b, CAP_R_WRITE, 0);
	int64_t fro = sys_cap_mint(frames[0], CAP_R_READ | CAP_R_MAP, 0); /* frame, read only */
	int64_t fwo = sys_cap_mint(frames[0], CAP_R_WRITE, 0);		  /* frame, write only */
	int64_t env = sys_env_create(sys_core_id());
	EXPECT(t, b >= 0 && ro >= 0 && wo >= 0 && fro >= 0 && fwo >= 0 && env >= 0);
	struct snap before;
	snap(&before);
	const uint64_t B = (uint64_t)b, F = frames[0];
	const struct {
		uint64_t nr, a[5];
		int64_t want;
		const char *what;
	} rows[] = {
		{ SYS_BLOCK_ALLOC, { 0, 0 }, E_INVAL, "zero blocks" },
		{ SYS_BLOCK_ALLOC, { info.blocks, 1 }, E_RANGE, "first past the end" },
		{ SYS_BLOCK_ALLOC, { info.blocks - 1, 2 }, E_RANGE, "last past the end" },
		{ SYS_BLOCK_ALLOC, { 1, ~0ULL }, E_RANGE, "count wraps" },
		{ SYS_BLOCK_ALLOC, { BLOCK_ANY, info.blocks + 1 }, E_RANGE, "more than the disk" },
		{ SYS_BLOCK_ALLOC, { BLOCK_ANY, info.blocks }, E_NOMEM, "no gap that large" },
		{ SYS_BLOCK_FREE, { CAP_SLOTS }, E_BADSLOT, "slot out of range" },
		{ SYS_BLOCK_FREE, { F }, E_TYPE, "a frame" },
		{ SYS_BLOCK_FREE, { (uint64_t)ro }, E_PERM, "no CTRL" },
		{ SYS_BLOCK_FREE, { B }, E_BUSY, "has children" },
		{ SYS_BLOCK_IO, { B, 0, F, 2 }, E_INVAL, "op" },
		{ SYS_BLOCK_IO, { B, 0, F, BLOCK_READ, 1ULL << 63 }, E_INVAL, "notify bit 63" },
		{ SYS_BLOCK_IO, { CAP_SLOTS, 0, F, BLOCK_READ }, E_BADSLOT, "blocks slot" },
		{ SYS_BLOCK_IO, { ~0ULL, 0, F, BLOCK_READ }, E_BADSLOT, "blocks slot huge" },
		{ SYS_BLOCK_IO, { F, 0, F, BLOCK_READ }, E_TYPE, "a frame as the blocks" },
		{ SYS_BLOCK_IO, { B, 4, F, BLOCK_READ }, E_RANGE, "block past the range" },
		{ SYS_BLOCK_IO, { B, ~0ULL, F, BLOCK_READ }, E_RANGE, "block huge" },
		{ SYS_BLOCK_IO, { (uint64_t)wo, 0, F, BLOCK_READ }, E_PERM, "read without READ" },
		{ SYS_BLOCK_IO,
		  { (uint64_t)ro, 0, F, BLOCK_WRITE },
		  E_PERM,
		  "write without WRITE" },
		{ SYS_BLOCK_IO, { B, 0, CAP_SLOTS, BLOCK_READ }, E_BADSLOT, "frame slot" },
		{ SYS_BLOCK_IO, { B, 0, B, BLOCK_READ }, E_TYPE, "blocks as the frame" },
		{ SYS_BLOCK_IO,
		  { B, 0, (uint64_t)fro, BLOCK_READ },
		  E_PERM,
		  "read into a read-only frame" },
		{ SYS_BLOCK_IO,
		  { B, 0, (uint64_t)fwo, BLOCK_WRITE },
		  E_PERM,
		  "write from an unreadable frame" },
		{ SYS_BLOCK_IO,
		  { B, 0, (uint64_t)env, BLOCK_READ },
		  E_TYPE,
		  "an env as the frame" },
		{ SYS_BLOCK_WAIT, { 0xff, 0 }, E_NOENT, "tag past the device" },
		{ SYS_BLOCK_WAIT, { 0, 0 }, E_NOENT, "never issued" },
		{ SYS_BLOCK_WAIT, { ~0ULL, 0 }, E_NOENT, "id huge" },
		{ SYS_BLOCK_WAIT, { 0, 2 }, E_INVAL, "flags" },
		{ SYS_DISK_INFO, { 0 }, E_FAULT, "null" },
		{ SYS_DISK_INFO, { WIN + NFRAMES * PAGE_SIZE }, E_FAULT, "unmapped" },
	};
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int64_t r = sys_call6(rows[i].nr, rows[i].a[0], rows[i].a[1], rows[i].a[2],
				      rows[i].a[3], rows[i].a[4], 0);
		if (r != rows[i].want)
			test_fail(t, __FILE__, __LINE__, "call %llu (%s): got %s, want %s",
				  (unsigned long long)rows[i].nr, rows[i].what, err_name((int)r),
				  err_name((int)rows[i].want));
		UNCHANGED(t, before);
	}
	/* A revoked range's child is gone from its slot (a frame the caller does not own: host tests). */
	EXPECT_EQ(t, sys_cap_revoke(B), 0);
	EXPECT_EQ(t, sys_block_io((uint64_t)ro, 0, F, BLOCK_READ, 0), E_BADSLOT);
	EXPECT_EQ(t, sys_cap_delete((uint64_t)fro), 0);
	EXPECT_EQ(t, sys_cap_delete((uint64_t)fwo), 0);
	EXPECT_EQ(t, sys_block_free(B), 0);
	EXPECT_EQ(t, sys_env_destroy((uint64_t)env), 0);
}

TEST(disk, too_many_in_flight_is_e_again)
{
	int64_t b = sys_block_alloc(BLOCK_ANY, 1);
	int64_t id[DISK_LIMIT_PROBE];
	unsigned n = 0;
	int64_t r = 0;
	/* Issue without collecting: at the per-environment limit (or the device's) E_AGAIN. */
	while (n < DISK_LIMIT_PROBE &&
	       (r = sys_block_io((uint64_t)b, 0, frames[0], BLOCK_READ, 0)) >= 0)
		id[n++] = r;
	EXPECT_EQ(t, r, E_AGAIN);
	EXPECT(t, n == info.inflight_max || n == info.inflight_device);
	for (unsigned i = 0; i < n; i++)
		EXPECT_EQ(t, sys_block_wait((uint64_t)id[i], BLOCK_WAIT_DONE), 0);
	EXPECT(t, sys_block_io((uint64_t)b, 0, frames[0], BLOCK_READ, 0) >= 0);
	EXPECT_EQ(t, sys_block_free((uint64_t)b), 0); /* waits for the request it still has */
}

TEST(disk, a_frame_freed_with_a_request_in_flight_waits_for_it)
{
	int64_t b = sys_block_alloc(BLOCK_ANY, 1);
	fill(0, 9);
	EXPECT_EQ(t, io_wait((uint64_t)b, 0, 0, BLOCK_WRITE), 0);
	int64_t f = sys_frame_alloc(FRAME_ANY);
	struct cap_info ci = { 0 };
	EXPECT_EQ(t, sys_cap_inspect((uint64_t)f, &ci), 0);
	uint64_t n = ci.object;
	EXPECT(t, sys_block_io((uint64_t)b, 0, (uint64_t)f, BLOCK_READ, 0) >= 0);
	EXPECT_EQ(t, sys_frame_free((uint64_t)f), 0);
	/* The same frame, taken again by name: zeroed, and no late write lands in it. */
	int64_t g = sys_frame_alloc(n);
	EXPECT(t, g >= 0);
	EXPECT_EQ(t, sys_map((uint64_t)g, WIN + NFRAMES * PAGE_SIZE, PROT_R | PROT_W), 0);
	const uint64_t *w = (const uint64_t *)(uintptr_t)(WIN + NFRAMES * PAGE_SIZE);
	uint64_t sum = 0;
	for (unsigned k = 0; k < PAGE_SIZE / 8; k++)
		sum |= w[k];
	EXPECT_EQ(t, sum, 0);
	EXPECT_EQ(t, sys_frame_free((uint64_t)g), 0); /* and its mapping goes with it */
	EXPECT_EQ(t, sys_block_free((uint64_t)b), 0);
}

/* arg 2: rounds of writing 16 blocks of its own and reading them back, beside other cores doing the same. */
static int stress(uint64_t core)
{
	int64_t b = sys_block_alloc(BLOCK_ANY, 16);
	if (b < 0)
		return 1;
	int bad = 0;
	for (unsigned round = 0; round < 20; round++) {
		int64_t id[NFRAMES];
		for (unsigned half = 0; half < 2; half++) {
			for (unsigned i = 0; i < NFRAMES; i++) {
				fill(i, core << 32 | round << 8 | (half * NFRAMES + i));
				id[i] = sys_block_io((uint64_t)b, half * NFRAMES + i, frames[i],
						     BLOCK_WRITE, 0);
			}
			for (unsigned i = 0; i < NFRAMES; i++)
				bad += id[i] < 0 ||
				       sys_block_wait((uint64_t)id[i], BLOCK_WAIT_DONE) != 0;
		}
		for (unsigned half = 0; half < 2; half++) {
			for (unsigned i = 0; i < NFRAMES; i++) {
				memset(page(i), 0xee, PAGE_SIZE);
				id[i] = sys_block_io((uint64_t)b, half * NFRAMES + i, frames[i],
						     BLOCK_READ, 0);
			}
			for (unsigned i = 0; i < NFRAMES; i++) {
				bad += id[i] < 0 ||
				       sys_block_wait((uint64_t)id[i], BLOCK_WAIT_DONE) != 0;
				bad += !holds(i, core << 32 | round << 8 | (half * NFRAMES + i));
			}
		}
	}
	bad += sys_block_free((uint64_t)b) != 0;
	return bad;
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg == 1) {
		/* No disk: every call says so, before looking at anything else. */
		struct disk_info di = { 0 };
		int bad = 0;
		bad += sys_disk_info(&di) != E_NOTSUP;
		bad += sys_block_alloc(BLOCK_ANY, 1) != E_NOTSUP;
		bad += sys_block_alloc(0, 0) != E_NOTSUP;
		bad += sys_block_free(CAP_SLOTS) !=
		       E_BADSLOT; /* no range can exist: the slot decides */
		bad += sys_block_io(0, 0, 0, 0, 0) != E_NOTSUP;
		bad += sys_block_wait(0, 0) != E_NOTSUP;
		return bad;
	}
	if (sys_disk_info(&info) != 0) {
		printf("disk: no disk attached (boot with one: tools/exo run --disk 1M)\n");
		return 99;
	}
	for (unsigned i = 0; i < NFRAMES; i++) {
		int64_t f = sys_frame_alloc(FRAME_ANY);
		if (f < 0 || sys_map((uint64_t)f, WIN + i * PAGE_SIZE, PROT_R | PROT_W) != 0)
			return 98;
		frames[i] = (uint64_t)f;
	}
	if (arg == 2)
		return stress(core);
	return (int)test_run("all");
}
