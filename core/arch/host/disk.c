/*
 * The disk (exo/arch/disk.h) on the host: sim_config.disk_blocks blocks in
 * host memory. A request is held until the next arch_disk_poll, which
 * finishes the held ones newest first — so the kernel sees requests in
 * flight across calls and finishing out of order, as a real device may.
 */
#include "sim_impl.h"

#include <arch/disk.h>
#include <arch/phys.h>
#include <exo/abi.h>
#include <exo/panic.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH 48 /* what virtio-blk gives with a 128-entry queue: 3 descriptors a request */

_Static_assert(DEPTH <= ARCH_DISK_DEPTH_MAX, "depth within the arch limit");

uint64_t arch_disk_init(void)
{
	struct sim *m = sim_top();
	m->disk_npending = 0;
	if (!m->disk_blocks)
		return 0;
	free(m->disk);
	m->disk = calloc(m->disk_blocks, BLOCK_SIZE);
	if (!m->disk)
		panic("sim: no host memory for a %llu-block disk",
		      (unsigned long long)m->disk_blocks);
	return m->disk_blocks;
}

unsigned arch_disk_depth(void)
{
	return sim_top()->disk ? DEPTH : 0;
}

void arch_disk_submit(unsigned tag, bool write, uint64_t block, paddr_t frame)
{
	struct sim *m = sim_top();
	if (!m->disk || tag >= DEPTH || block >= m->disk_blocks || m->disk_npending == DEPTH)
		panic("sim: disk request out of contract (tag %u, block %llu)", tag,
		      (unsigned long long)block);
	for (unsigned i = 0; i < m->disk_npending; i++)
		if (m->disk_pending[i].tag == tag)
			panic("sim: disk tag %u submitted twice", tag);
	(void)arch_phys_to_virt(pa_make(pa_raw(frame) + BLOCK_SIZE - 1)); /* bounds-checked */
	m->disk_pending[m->disk_npending++] =
	    (struct sim_disk_req){ tag, write, block, pa_raw(frame) };
}

unsigned arch_disk_poll(void (*done)(unsigned tag, bool ok, void *arg), void *arg)
{
	struct sim *m = sim_top();
	unsigned n = 0;
	while (m->disk_npending) {
		struct sim_disk_req r = m->disk_pending[--m->disk_npending];
		bool ok = r.block != m->disk_fail_block;
		if (ok) {
			uint8_t *blk = m->disk + r.block * BLOCK_SIZE,
				*mem = arch_phys_to_virt(pa_make(r.pa));
			if (r.write)
				memcpy(blk, mem, BLOCK_SIZE);
			else
				memcpy(mem, blk, BLOCK_SIZE);
		}
		done(r.tag, ok, arg);
		n++;
	}
	return n;
}

uint8_t *sim_disk_block(uint64_t b)
{
	struct sim *m = sim_top();
	return m->disk && b < m->disk_blocks ? m->disk + b * BLOCK_SIZE : NULL;
}

void sim_disk_fail(uint64_t block)
{
	sim_top()->disk_fail_block = block;
}

void sim_disk_set_blocks(uint64_t blocks)
{
	struct sim *m = sim_top();
	m->disk_blocks = blocks;
	free(m->disk);
	m->disk = NULL;
}

unsigned sim_disk_pending(void)
{
	return sim_top()->disk_npending;
}
