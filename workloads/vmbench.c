/*
 * vmbench: the paging path lengths the issue asks for, one sample per
 * access, timed around the access itself (fault, upcall, the VM's work,
 * resume). Under -icount they are exact instruction counts:
 *
 *   tools/exo run --icount --mode release -- run=vmbench pager=fifo
 *
 * vm_fault_zero_write / _read: a first touch served by the libOS (fault ->
 *   allocate -> map -> resume; the kernel hands frames out zeroed). Linux's
 *   first-touch minor fault in the same QEMU: 6,375 instructions.
 * vm_evict_clean_read / _write: a fault at the budget whose victim is
 *   clean: unmap it, reuse its frame, zero it, map it (FIFO, so no scan of
 *   the accessed bits is counted; with CLOCK one SYS_READ_AD per 512 pages).
 * vm_block_read / vm_block_write: one 4 KiB block to or from a frame
 *   (SYS_BLOCK_IO + SYS_BLOCK_WAIT), when there is a disk (--disk).
 */
#include <libos/args.h>
#include <libos/bench.h>
#include <libos/libos.h>
#include <libos/sched.h>
#include <libos/vm.h>

LIBOS_PROGRAM_PARAMS({ "samples", "100", "samples per figure (at most 150)" });

#define A_BASE 0x400000000ULL /* first touches */
#define B_BASE 0x500000000ULL /* evictions */
#define A_PAGES 160
#define B_PAGES 200
#define SMALL 16
#define PG 4096ULL

static uint64_t samples[160];

static void block_figures(unsigned n)
{
	struct disk_info di;
	if (sys_disk_info(&di)) {
		printf("vmbench: no disk (--disk SIZE): no block figures\n");
		return;
	}
	int64_t blocks = sys_block_alloc(BLOCK_ANY, 1), frame = sys_frame_alloc(FRAME_ANY);
	if (blocks < 0 || frame < 0) {
		printf("vmbench: block or frame allocation failed\n");
		return;
	}
	for (int op = BLOCK_WRITE; op >= BLOCK_READ; op--) {
		for (unsigned i = 0; i < n + 5; i++) {
			uint64_t t0 = libos_cycles();
			int64_t id =
			    sys_block_io((uint64_t)blocks, 0, (uint64_t)frame, (uint64_t)op, 0);
			int64_t r = id < 0 ? id : sys_block_wait((uint64_t)id, BLOCK_WAIT_DONE);
			uint64_t t1 = libos_cycles();
			if (r) {
				printf("vmbench: block %s failed: %s\n", op ? "write" : "read",
				       err_name((int)r));
				return;
			}
			if (i >= 5)
				samples[i - 5] = t1 - t0;
		}
		libos_figure(op ? "vm_block_write" : "vm_block_read", "cycles", samples, n, NULL);
	}
	(void)sys_block_free((uint64_t)blocks);
	(void)sys_frame_free((uint64_t)frame);
}

/* Time one access to each of pages [first, first + n) of base. */
static void touch_each(uint64_t base, unsigned first, unsigned n, bool write)
{
	for (unsigned i = 0; i < n; i++) {
		volatile uint64_t *p = (volatile uint64_t *)(base + (first + i) * PG);
		uint64_t t0 = libos_cycles();
		if (write)
			*p = i;
		else
			(void)*p;
		samples[i] = libos_cycles() - t0;
	}
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	unsigned n = (unsigned)MIN(libos_arg_u64("samples", 100), 150);
	struct vm_config cfg = { .budget = SMALL,
				 .backing = VM_BACKING_NONE,
				 .max_pages = A_PAGES + B_PAGES };
	int err = vm_start(&cfg);
	if (!err)
		err = vm_region_add(A_BASE, A_PAGES);
	if (!err)
		err = vm_region_add(B_BASE, B_PAGES);
	if (err) {
		printf("vmbench: vm: %s\n", err_name(err));
		return 2;
	}
	/* Evictions of clean pages: fill the budget read-only, then go on past it. */
	touch_each(B_BASE, 0, SMALL, false);
	touch_each(B_BASE, SMALL, n / 2, false);
	libos_figure("vm_evict_clean_read", "cycles", samples, n / 2, NULL);
	/* Writes evicting the clean pages read above (no more: the written ones are dirty). */
	touch_each(B_BASE, SMALL + n / 2, SMALL, true);
	libos_figure("vm_evict_clean_write", "cycles", samples, SMALL, NULL);
	/* First touches under a budget they do not reach. */
	if ((err = vm_set_budget(A_PAGES + SMALL + 8))) {
		printf("vmbench: budget: %s\n", err_name(err));
		return 2;
	}
	touch_each(A_BASE, 0, n, true);
	libos_figure("vm_fault_zero_write", "cycles", samples, n, NULL);
	touch_each(A_BASE, n, MIN(n, A_PAGES - n), false);
	libos_figure("vm_fault_zero_read", "cycles", samples, MIN(n, A_PAGES - n), NULL);
	block_figures(n);
	vm_print_figures(NULL);
	return 0;
}
