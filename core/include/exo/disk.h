/*
 * The exported disk (docs/disk.md): the machine's one block device
 * (exo/arch/disk.h) given out the exokernel way. Allocation is exposed
 * (ask for blocks [b, b + n) or any n), names are exposed (block numbers),
 * and a range is a capability (OBJ_BLOCKS, object id first | count << 32)
 * that is minted, granted, revoked and deleted like any other; deleting the
 * root frees the range.
 *
 * A request moves one block between the disk and a frame the caller owns.
 * The binding is checked once, when the request is accepted; from then on
 * neither the frame nor the range can change hands until the request is
 * done: freeing or revoking either waits for the requests that name it
 * (disk_quiesce_frame, and the range's own free), so the device never
 * writes into a frame that has a new owner.
 *
 * Locking: one lock for the one device, taken last (nothing is taken under
 * it). Completions are found by polling: on every disk call and from each
 * core's scheduler loop (disk_poll).
 */
#pragma once

#include <exo/abi.h>
#include <exo/types.h>

struct env;

/* Requests in flight or done but not yet collected, per environment at most. */
#define DISK_INFLIGHT_ENV 32
/* Block ranges allocated at once, machine-wide. */
#define DISK_RANGES_MAX 256

/* Find the device and start the exported disk (boot, core 0, before any program runs). */
void disk_init(void);

/* Blocks on the disk (0: none). */
uint64_t disk_blocks(void);

/* The current generation of the range an OBJ_BLOCKS object id names, or ~0 if none. */
uint64_t disk_range_gen(uint64_t obj);

/* The root capability of a range was deleted: free it (after its requests are done). */
void disk_range_free(uint64_t obj, uint64_t gen);

/*
 * A frame is about to change hands (its state is no longer OWNED, so no new
 * request can name it): wait until no request in flight names it.
 */
void disk_quiesce_frame(uint64_t frame);

/*
 * Environment id of generation gen is destroyed (its frames are gone, so
 * none of its requests is still in flight): its requests are dropped.
 */
void disk_env_gone(uint32_t id, uint64_t gen);

/* True when a request may be in flight (frame_free's fast path skips the quiesce otherwise). */
bool disk_may_dma(void);

/*
 * The invariant checker's part (exo/syscall.h invariant_check): ranges
 * sorted, disjoint, inside the disk and counted; every request in flight
 * counted, naming a live range and a frame still held (not FREE). Problems
 * are printed; their number is returned.
 */
unsigned disk_check(void);

/* A digest of the whole disk state (ranges and requests), for "changed nothing" checks. */
uint64_t disk_digest(void);

/* Collect finished requests and deliver their notifications. Any core, any time. */
void disk_poll(void);

/* The syscalls (exo/abi.h SYS_DISK_INFO .. SYS_BLOCK_WAIT), for the syscall table. */
int64_t sys_disk_info(struct env *e, const uint64_t *a);
int64_t sys_block_alloc(struct env *e, const uint64_t *a);
int64_t sys_block_free(struct env *e, const uint64_t *a);
int64_t sys_block_io(struct env *e, const uint64_t *a);
int64_t sys_block_wait(struct env *e, const uint64_t *a);
