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
#include <exo/syscall.h>
#include <exo/test.h>
#include <percpu.h>

#define MEM_BYTES (16ULL << 20)
#define MEM_FRAMES (MEM_BYTES / PAGE_SIZE)
#define KERNEL_FRAMES 16 /* frames 0..15: stand-in for the image and the table */
/* setup() also makes the message rings (a frame per ordered pair of cores), as the kernel does */
#define RING_FRAMES ((unsigned long long)percpu_ncpus * (percpu_ncpus - 1))
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

/* syscall_invoke with up to six arguments. */
#define SYS(e, nr, ...) syscall_invoke((e), (nr), (const uint64_t[6]){ __VA_ARGS__ })

#define OUT_VA VA(0x100)  /* the syscall tests' writable page for out-parameters */
#define RO_VA VA(0x101)	  /* a read-only page */
#define HOLE_VA VA(0x102) /* never mapped */

/* What cap_inspect says of slot; type OBJ_NONE (and 0xee elsewhere) if it is empty. */
struct cap_info info(struct env *e, uint32_t slot);

/* The object of the capability in slot (a frame number, an env id...). */
uint64_t obj_of(struct env *e, int64_t slot);

/* The bytes of frame f. */
uint8_t *frame_mem(uint64_t f);

/* The prot bits of va's mapping in e; 0 if unmapped. */
unsigned prot_at(struct env *e, uint64_t va);

/* How many TLB flushes core has made (the simulator counts them). */
uint64_t tlb_flushes(unsigned core);

/* A fresh frame for e through SYS_FRAME_ALLOC, mapped at va with prot; its bytes (NULL: failed). */
uint8_t *user_page(struct test_ctx *t, struct env *e, uint64_t va, unsigned prot);

/*
 * "Changed nothing": everything a failed operation must leave alone. The
 * ownership table (state, owner, generation, mapped-on set of every
 * frame); for each of up to SNAP_ENVS environments (NULL ones skipped) its
 * run state, exit status, generation, counters, capability slots and what
 * the pages of snap_vas (support.c) map to, with which prot; the free-frame
 * and environment counts; and the bytes of the first environment's OUT_VA
 * page, if it is mapped.
 */
#define SNAP_ENVS 4
#define SNAP_VAS 20

struct snap {
	struct pot_entry pot[MEM_FRAMES];
	struct {
		uint32_t state;
		int exit_status;
		uint64_t gen, frames_owned, mappings;
		uint64_t va[SNAP_VAS];
		unsigned prot[SNAP_VAS];
		struct cap caps[CAP_SLOTS]; /* empty where no page is allocated */
		/* The table's index and directory (not its lock: a ticket lock counts) */
		uint64_t npages; /* 64 bits: no padding (snap_same compares bytes) */
		uint64_t used[CAP_PAGES], nonfull[CAP_PAGES / 64], fresh[CAP_PAGES / 64];
		uint64_t frame[CAP_PAGES];
	} env[SNAP_ENVS];
	unsigned nenv, envs;
	uint64_t free;
	uint64_t disk; /* disk_digest(): ranges and requests */
	uint64_t bpf;  /* bpf_hooks_digest(): programs and attachments */
	uint8_t out[PAGE_SIZE];
};

void snap_take(struct snap *s, struct env *const *envs, unsigned n);

/* Is the machine as in *s? Prints the first difference. */
bool snap_same(const struct snap *s, struct env *const *envs);

/* The snapshot FAILS_CLEANLY takes. */
extern struct snap snap_before;

/* Run the call, expect err, expect nothing changed and the invariants to hold. */
#define FAILS_CLEANLY(t, envs, call, err)                                                          \
	do {                                                                                       \
		snap_take(&snap_before, envs, ARRAY_SIZE(envs));                                   \
		EXPECT_EQ(t, (call), (err));                                                       \
		EXPECT(t, snap_same(&snap_before, envs));                                          \
		INV(t);                                                                            \
	} while (0)

/*
 * Destroy the environments of envs that are alive, and check they took
 * everything with them: no environment, every frame free, the kernel's
 * frames as setup() left them, the invariants.
 */
void teardown(struct test_ctx *t, struct env **envs, unsigned n);
