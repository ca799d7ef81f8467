/*
 * diskbench: the exported disk's costs, as figure lines (docs/disk.md).
 * Path lengths under -icount; the device's own latency shows only in the
 * round trips.
 *
 *   disk_read_submit    BLOCK_IO(BLOCK_READ) of one 4 KiB block: the call, from
 *                       user mode to user mode (decode, both capabilities, the
 *                       ownership check, queueing the request, the doorbell);
 *   disk_write_submit   the same for BLOCK_WRITE;
 *   disk_collect        BLOCK_WAIT of a request already finished (the poll of
 *                       the used ring that finds it included);
 *   disk_read_4k        issue to collected, BLOCK_WAIT_DONE yielding the core
 *                       meanwhile: submit, the device, the wait, the collect;
 *   disk_write_4k       the same for a write.
 *
 *   tools/exo run --icount --disk 16M -- run=diskbench
 */
#include <libos/args.h>
#include <libos/bench.h>
#include <libos/libos.h>
#include <libos/sched.h>

LIBOS_PROGRAM_PARAMS({ "rounds", "200", "samples per figure (at most 1000)" });

#define MAX_SAMPLES 1000
#define WIN 0x60000000ULL
#define NBLOCKS 16

static uint64_t samples[5][MAX_SAMPLES];

/* Spin until the request is done (polling, so nothing else is timed): its result. */
static int64_t done(int64_t id)
{
	int64_t r;
	while ((r = sys_block_wait((uint64_t)id, BLOCK_POLL)) == E_AGAIN)
		;
	return r;
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	size_t rounds = libos_arg_u64("rounds", 200);
	if (rounds == 0 || rounds > MAX_SAMPLES) {
		printf("diskbench: rounds=%zu: want 1..%u\n", rounds, MAX_SAMPLES);
		return 2;
	}
	struct disk_info di;
	int64_t err = sys_disk_info(&di);
	if (err) {
		printf("diskbench: no disk (%s): run with --disk SIZE\n", err_name((int)err));
		return 3;
	}
	int64_t b = sys_block_alloc(BLOCK_ANY, NBLOCKS), f = sys_frame_alloc(FRAME_ANY);
	if (b < 0 || f < 0 || sys_map((uint64_t)f, WIN, PROT_R | PROT_W) != 0) {
		printf("diskbench: set-up failed: blocks %lld, frame %lld\n", (long long)b,
		       (long long)f);
		return 4;
	}
	*(volatile uint64_t *)WIN = 0x5eed; /* not a zero page: a write carries data */
	const size_t warm = 10;
	for (size_t i = 0; i < rounds + warm; i++) {
		uint64_t blk = i % NBLOCKS;
		for (unsigned op = BLOCK_READ; op <= BLOCK_WRITE; op++) {
			uint64_t t0 = libos_cycles();
			int64_t id = sys_block_io((uint64_t)b, blk, (uint64_t)f, op, 0);
			uint64_t t1 = libos_cycles();
			if (id < 0 || done(id) != 0) {
				printf("diskbench: request %zu failed: %s\n", i, err_name((int)id));
				return 5;
			}
			/*
			 * A finished request, collected: issue one that notifies, yield until
			 * the bit says it is done (the scheduler loop polls the device), then
			 * time the collect alone.
			 */
			id = sys_block_io((uint64_t)b, blk, (uint64_t)f, op, 1);
			while (id >= 0 && !(sys_call6(SYS_NOTIFY_TAKE, 0, 0, 0, 0, 0, 0) & 1))
				sys_yield();
			uint64_t t2 = libos_cycles();
			err = id < 0 ? id : sys_block_wait((uint64_t)id, BLOCK_POLL);
			uint64_t t3 = libos_cycles();
			if (err != 0) {
				printf("diskbench: collecting request %zu: %s\n", i,
				       err_name((int)err));
				return 5;
			}
			uint64_t t4 = libos_cycles();
			int64_t id2 = sys_block_io((uint64_t)b, blk, (uint64_t)f, op, 0);
			int64_t r2 = id2 < 0 ? id2 : sys_block_wait((uint64_t)id2, BLOCK_WAIT_DONE);
			uint64_t t5 = libos_cycles();
			if (r2 != 0) {
				printf("diskbench: request %zu failed: %s\n", i, err_name((int)r2));
				return 5;
			}
			if (i < warm)
				continue;
			size_t k = i - warm;
			samples[op][k] = t1 - t0;
			if (op == BLOCK_READ)
				samples[2][k] = t3 - t2;
			samples[3 + op][k] = t5 - t4;
		}
	}
	libos_figure("disk_read_submit", "cycles", samples[BLOCK_READ], rounds, NULL);
	libos_figure("disk_write_submit", "cycles", samples[BLOCK_WRITE], rounds, NULL);
	libos_figure("disk_collect", "cycles", samples[2], rounds, NULL);
	libos_figure("disk_read_4k", "cycles", samples[3 + BLOCK_READ], rounds, NULL);
	libos_figure("disk_write_4k", "cycles", samples[3 + BLOCK_WRITE], rounds, NULL);
	(void)sys_block_free((uint64_t)b);
	return 0;
}
