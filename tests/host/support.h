/*
 * What the host tests of the ownership table, capabilities and environments
 * share: a machine of MEM_BYTES of simulated memory with a fresh
 * page-ownership table, environments spread over the cores, and ways to look
 * at their state.
 */
#pragma once

#include <exo/cap.h>
#include <exo/env.h>
#include <exo/pot.h>
#include <exo/test.h>
#include <percpu.h>

#define MEM_BYTES (16ULL << 20)
#define MEM_FRAMES (MEM_BYTES / PAGE_SIZE)
#define KERNEL_FRAMES 16 /* frames 0..15: stand-in for the image and the table */
/* setup() also makes the message rings (a frame per ordered pair of cores), as the kernel does */
#define RING_FRAMES (percpu_ncpus * (percpu_ncpus - 1))
#define FREE_FRAMES (MEM_FRAMES - KERNEL_FRAMES - RING_FRAMES) /* free after setup() */

#define VA(i) (USER_BASE + (uint64_t)(i) * PAGE_SIZE)
#define INV(t) EXPECT_EQ(t, invariant_check(), 0)

/* The page-ownership table the tests use (snapshots compare it), and a fresh one. */
extern struct pot_entry pot_table[MEM_FRAMES];
void pot_setup(void);

/*
 * A fresh table and fresh message rings in it (cross-core system calls are
 * messages): the machine setup() leaves. Also what a test that ran a nested
 * machine calls to get the outer one back.
 */
void machine_setup(void);

/*
 * A nested machine of ncores cores (its chooser seeded with seed, 256 KiB
 * stacks), with its own ownership table over bytes of memory (the first
 * MiB the kernel's) and message rings in it: chan_init's result. End it
 * with nested_machine_end, then machine_setup() for the outer one.
 */
int nested_machine(unsigned ncores, uint64_t seed, struct pot_entry *table, uint64_t bytes);
void nested_machine_end(void);

/* Destroy leftovers of an earlier failed test, check the machine is empty, fresh table. */
bool setup(struct test_ctx *t);

/* The i-th environment's home: spread over the online cores (TLB flushes cross cores). */
unsigned home_of(unsigned i);

/* A new environment homed by home_of(i), or NULL (the failure is recorded). */
struct env *mkenv(struct test_ctx *t, unsigned i);

/* Is slot empty? How many slots of e are in use? */
bool empty(struct env *e, uint32_t slot);
unsigned caps_in(struct env *e);

/* Where va maps in e: the frame, or ~0 if nothing. */
uint64_t mapped(struct env *e, uint64_t va);
