/*
 * exo/arch/disk.h — the one block device the machine gives, below the
 * exported disk (core/disk.c, docs/paging.md). Declared once here; each arch
 * implements it: x86_64 drives a virtio-blk PCI device (virtio 1.0), the
 * host keeps an in-memory stand-in.
 *
 * Blocks are BLOCK_SIZE (abi.h) bytes and a transfer is one block to or from
 * one whole frame. A request is named by a tag the caller chooses, below
 * arch_disk_depth() and not in flight; the device may finish requests in
 * any order. The caller (core/disk.c) serializes every call with its lock.
 */
#pragma once

#include <exo/types.h>

#define ARCH_DISK_DEPTH_MAX 128 /* arch_disk_depth() is at most this */

/* Find and start the device (boot, core 0): its size in blocks, 0 if there is none. */
uint64_t arch_disk_init(void);

/* Requests the device holds at once (0 without a device): tags are below it. */
unsigned arch_disk_depth(void);

/*
 * Start moving block `block` to (write false) or from (write true) the
 * frame at physical address frame. The caller checked block against the
 * size and keeps the frame until the request is done.
 */
void arch_disk_submit(unsigned tag, bool write, uint64_t block, paddr_t frame);

/* Finished requests: done(tag, ok, arg) for each, in the order the device gives; their count. */
unsigned arch_disk_poll(void (*done)(unsigned tag, bool ok, void *arg), void *arg);
