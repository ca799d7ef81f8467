/*
 * The syscall layer (core/syscall.c through syscall_invoke, with
 * core/uaccess.c for out-parameters) on the host: each syscall that needs
 * no user mode, with its classes of bad input. A failed call must return
 * the documented error (docs/syscalls.md) and change nothing: the
 * ownership table, the environments' counters, capability slots and
 * mappings, and user memory are compared before and after (support.h's
 * snapshots).
 *
 * Each test makes its own page-ownership table over the first 16 MiB of
 * simulated memory and destroys every environment it made. Out-parameters
 * live in a frame the environment maps (OUT_VA); the test reads it through
 * arch_phys_to_virt.
 */
#include <arch/cpu.h>
#include <arch/mm.h>
#include <arch/phys.h>
#include <arch/sim.h>
#include <exo/boot.h>
#include <exo/cap.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/pot.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include <ipi.h>
#include <percpu.h>
#include <string.h>
#include "support.h"

/* Addresses no user buffer may have. */
static const uint64_t kernel_vas[] = {
	0xffff800000000000ULL, /* the kernel half */
	0xffffffff80000000ULL, /* the kernel image */
	0xfffffffffffff000ULL,
};
static const uint64_t noncanonical_vas[] = { 0x0000800000000000ULL, 0x00f0000000000000ULL,
					     0x8000000000000000ULL };
static const uint64_t low_vas[] = { 0, PAGE_SIZE, USER_BASE - PAGE_SIZE };

/* ---- syscalls: frames ---- */

TEST(env, sys_frame_alloc)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), mkenv(t, 1) };
	struct env *e = envs[0], *o = envs[1];
	ASSERT(t, e && o);
	uint64_t free0 = frame_free_count(), owned0 = e->frames_owned;
	int64_t s = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, s >= 0);
	struct cap_info i = info(e, (uint32_t)s);
	EXPECT_EQ(t, i.type, OBJ_FRAME);
	EXPECT_EQ(t, i.rights, CAP_R_ALL);
	EXPECT_EQ(t, i.depth, 0);
	EXPECT_EQ(t, i.parent_env, CAP_NO_SLOT);
	EXPECT_EQ(t, i.gen, pot_get(i.object).gen);
	EXPECT_EQ(t, pot_get(i.object).owner, e->id);
	EXPECT_EQ(t, pot_get(i.object).state, POT_OWNED);
	/* The frame, and the first page of e's capability table. */
	EXPECT_EQ(t, e->frames_owned, owned0 + 2);
	EXPECT_EQ(t, frame_free_count(), free0 - 2);
	INV(t);
	/* By name: a free frame. */
	uint64_t want = MEM_FRAMES - 3;
	ASSERT_EQ(t, pot_get(want).state, POT_FREE);
	int64_t s2 = SYS(e, SYS_FRAME_ALLOC, want);
	ASSERT(t, s2 >= 0);
	EXPECT_EQ(t, obj_of(e, s2), want);
	INV(t);

	/* Past the end of memory. */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_ALLOC, MEM_FRAMES), E_RANGE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_ALLOC, 1ULL << 40), E_RANGE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_ALLOC, FRAME_ANY - 1), E_RANGE);
	/* The kernel's: frame 0, the stand-in image, a page table (e's own, even). */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_ALLOC, 0), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_ALLOC, KERNEL_FRAMES - 1), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_ALLOC, pa_raw(e->as.root) / PAGE_SIZE), E_PERM);
	/* Owned, by anyone. */
	int64_t so = SYS(o, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, so >= 0);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_ALLOC, obj_of(o, so)), E_BUSY);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_ALLOC, want), E_BUSY);

	/* No memory left: o takes every free frame (through the kernel API: its cap table is small). */
	static uint64_t taken[MEM_FRAMES], taken_gen[MEM_FRAMES];
	unsigned n = 0;
	while (frame_alloc_any(o->id, false, &taken[n], &taken_gen[n]) == E_OK) {
		__atomic_fetch_add(&o->frames_owned, 1, __ATOMIC_RELAXED);
		n++;
	}
	EXPECT_EQ(t, frame_free_count(), 0);
	EXPECT_EQ(t, SYS(e, SYS_FRAME_COUNT, 0), 0);
	INV(t);
	/* Nothing revocable anywhere (o's frames within its guarantee): E_NOMEM, nothing changed. */
	o->guarantee = MEM_FRAMES;
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_ALLOC, FRAME_ANY), E_NOMEM);
	/* o's own allocation is revocable beyond a zero guarantee: a revocation starts, E_AGAIN. */
	o->guarantee = 0;
	EXPECT_EQ(t, SYS(e, SYS_FRAME_ALLOC, FRAME_ANY), E_AGAIN);
	EXPECT_EQ(t, o->revoke_state, REV_ASKED);
	EXPECT_EQ(t, o->revoke_frame, FRAME_ANY);
	o->revoke_state = REV_NONE; /* no home core runs here to carry it out */
	/* One back: the next call finds it. */
	ASSERT_EQ(t, frame_free(taken[n - 1], o->id, taken_gen[n - 1]), E_OK);
	__atomic_fetch_sub(&o->frames_owned, 1, __ATOMIC_RELAXED);
	int64_t s3 = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
	EXPECT(t, s3 >= 0);
	EXPECT_EQ(t, obj_of(e, s3), taken[n - 1]);
	EXPECT_EQ(t, SYS(e, SYS_FRAME_COUNT, 0), 0);
	for (unsigned k = 0; k + 1 < n; k++) {
		EXPECT_EQ(t, frame_free(taken[k], o->id, taken_gen[k]), E_OK);
		__atomic_fetch_sub(&o->frames_owned, 1, __ATOMIC_RELAXED);
	}
	INV(t);

	/*
	 * A full capability table: E_NOMEM, and no frame is taken. (The frame
	 * claimed and given back on the way gets a new generation; being free,
	 * nobody holds a cap to it, so nothing can tell.)
	 */
	uint32_t x;
	while (cap_mint(e, (uint32_t)s, CAP_R_READ, 0, &x) == E_OK)
		;
	uint64_t free1 = frame_free_count(), owned1 = e->frames_owned;
	unsigned owned_frames = (unsigned)pot_count(POT_OWNED);
	EXPECT_EQ(t, SYS(e, SYS_FRAME_ALLOC, FRAME_ANY), E_NOMEM);
	EXPECT_EQ(t, SYS(e, SYS_FRAME_ALLOC, MEM_FRAMES - 4), E_NOMEM);
	EXPECT_EQ(t, frame_free_count(), free1);
	EXPECT_EQ(t, e->frames_owned, owned1);
	EXPECT_EQ(t, pot_count(POT_OWNED), owned_frames);
	EXPECT_EQ(t, pot_get(MEM_FRAMES - 4).state, POT_FREE);
	INV(t);
	teardown(t, envs, 2);
}

TEST(env, sys_frame_free)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), mkenv(t, 1) };
	struct env *e = envs[0], *o = envs[1];
	ASSERT(t, e && o);
	int64_t s = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY), es = SYS(e, SYS_ENV_CREATE, 0);
	ASSERT(t, s >= 0 && es >= 0);
	uint64_t f = obj_of(e, s);
	uint32_t child, nogrant_child, copy_in_o;
	ASSERT_EQ(t, cap_mint(e, (uint32_t)s, CAP_R_ALL, 0, &child), E_OK);
	ASSERT_EQ(t, cap_mint(e, (uint32_t)s, CAP_R_ALL & ~CAP_R_CTRL, 0, &nogrant_child), E_OK);
	ASSERT_EQ(t, cap_grant(e, (uint32_t)s, o, false, &copy_in_o), E_OK);
	INV(t);

	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_FREE, CAP_SLOTS), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_FREE, ~0ULL), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_FREE, (1ULL << 32) | (uint64_t)s), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_FREE, CAP_SLOTS - 1), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_FREE, es), E_TYPE);
	/* Derived caps do not free, with every right or without CTRL. */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_FREE, child), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_FREE, nogrant_child), E_PERM);
	/* Another environment's frame, through the copy it was given. */
	FAILS_CLEANLY(t, envs, SYS(o, SYS_FRAME_FREE, copy_in_o), E_PERM);
	/* The root while derived caps exist. */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_FREE, s), E_BUSY);
	EXPECT_EQ(t, SYS(e, SYS_CAP_REVOKE, s), 0);
	INV(t);

	/* Freed, bound: unmapped, returned, the slot empty; a second free finds nothing. */
	ASSERT_EQ(t, SYS(e, SYS_MAP, s, VA(0), PROT_R | PROT_W), 0);
	uint64_t free0 = frame_free_count(), owned = e->frames_owned, gen = pot_get(f).gen;
	EXPECT_EQ(t, SYS(e, SYS_FRAME_FREE, s), 0);
	INV(t);
	EXPECT_EQ(t, frame_free_count(), free0 + 1);
	EXPECT_EQ(t, e->frames_owned, owned - 1);
	EXPECT_EQ(t, mapped(e, VA(0)), ~0ULL);
	EXPECT_EQ(t, e->mappings, 0);
	EXPECT_EQ(t, pot_get(f).state, POT_FREE);
	EXPECT_EQ(t, pot_get(f).gen, gen + 1);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_FREE, s), E_BADSLOT);

	/* A root whose frame was taken by force is stale: E_STALE, nothing freed twice. */
	int64_t s2 = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, s2 >= 0);
	uint64_t f2 = obj_of(e, s2), g2 = pot_get(f2).gen;
	ASSERT_EQ(t, frame_free(f2, e->id, g2), E_OK);
	__atomic_fetch_sub(&e->frames_owned, 1, __ATOMIC_RELAXED);
	int64_t so = SYS(o, SYS_FRAME_ALLOC, f2); /* someone else has it now */
	ASSERT(t, so >= 0);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_FRAME_FREE, s2), E_STALE);
	EXPECT_EQ(t, SYS(e, SYS_CAP_DELETE, s2), 0);
	EXPECT_EQ(t, pot_get(f2).owner, o->id);
	EXPECT_EQ(t, pot_get(f2).state, POT_OWNED);
	INV(t);
	teardown(t, envs, 2);
}

/* ---- syscalls: map, unmap, read_ad ---- */

TEST(env, sys_map_unmap)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), mkenv(t, 1) };
	struct env *e = envs[0], *o = envs[1];
	ASSERT(t, e && o);
	int64_t s = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY), s2 = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
	int64_t es = SYS(e, SYS_ENV_CREATE, 0);
	ASSERT(t, s >= 0 && s2 >= 0 && es >= 0);
	uint64_t f = obj_of(e, s);
	ASSERT_EQ(t, SYS(e, SYS_MAP, s, VA(0), PROT_R | PROT_W), 0);
	EXPECT_EQ(t, mapped(e, VA(0)), f);
	EXPECT_EQ(t, info(e, (uint32_t)s).bound_va, VA(0));
	EXPECT_EQ(t, e->mappings, 1);
	INV(t);

	/* Addresses: unaligned first, then outside user space. */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s2, VA(1) + 1, PROT_R), E_ALIGN);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s2, VA(1) + PAGE_SIZE / 2, PROT_R), E_ALIGN);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s2, kernel_vas[0] + 8, PROT_R), E_ALIGN);
	for (unsigned i = 0; i < ARRAY_SIZE(kernel_vas); i++)
		FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s2, kernel_vas[i], PROT_R), E_FAULT);
	for (unsigned i = 0; i < ARRAY_SIZE(noncanonical_vas); i++)
		FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s2, noncanonical_vas[i], PROT_R), E_FAULT);
	for (unsigned i = 0; i < ARRAY_SIZE(low_vas); i++)
		FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s2, low_vas[i], PROT_R), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s2, USER_END, PROT_R), E_FAULT);
	/* prot */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s2, VA(1), 0), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s2, VA(1), 8), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s2, VA(1), ~0ULL), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s2, VA(1), (1ULL << 32) | PROT_R), E_INVAL);
	/* Slots: out of range (even one that would alias s2 if truncated), empty, wrong type. */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, CAP_SLOTS, VA(1), PROT_R), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, (1ULL << 32) | (uint64_t)s2, VA(1), PROT_R),
		      E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, CAP_SLOTS - 1, VA(1), PROT_R), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, es, VA(1), PROT_R), E_TYPE);
	/* Rights. */
	uint32_t nomap, ro;
	ASSERT_EQ(t, cap_mint(e, (uint32_t)s2, CAP_R_ALL & ~CAP_R_MAP, 0, &nomap), E_OK);
	ASSERT_EQ(t, cap_mint(e, (uint32_t)s2, CAP_R_MAP | CAP_R_READ, 0, &ro), E_OK);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, nomap, VA(1), PROT_R), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, ro, VA(1), PROT_R | PROT_W), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, ro, VA(1), PROT_X), E_PERM);
	/* Already bound; over an existing mapping. */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s, VA(1), PROT_R), E_BUSY);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s2, VA(0), PROT_R), E_EXIST);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, ro, VA(0), PROT_R), E_EXIST);
	/* Stale: the frame was taken by force. */
	int64_t s3 = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, s3 >= 0);
	ASSERT_EQ(t, frame_free(obj_of(e, s3), e->id, pot_get(obj_of(e, s3)).gen), E_OK);
	__atomic_fetch_sub(&e->frames_owned, 1, __ATOMIC_RELAXED);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s3, VA(1), PROT_R), E_STALE);
	/* Another environment's frame is mapped through the cap it was given. */
	int64_t os = SYS(o, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, os >= 0);
	uint32_t oc;
	ASSERT_EQ(t, cap_grant(o, (uint32_t)os, e, false, &oc), E_OK);
	EXPECT_EQ(t, SYS(e, SYS_MAP, oc, VA(2), PROT_R), 0);
	EXPECT_EQ(t, mapped(e, VA(2)), obj_of(o, os));
	/* The read-only child at VA(1): readable, not writable. */
	EXPECT_EQ(t, SYS(e, SYS_MAP, ro, VA(1), PROT_R), 0);
	EXPECT_EQ(t, sim_mmu_touch(&e->as, va_make(VA(1)), false), E_OK);
	EXPECT_EQ(t, sim_mmu_touch(&e->as, va_make(VA(1)), true), E_INVAL);
	EXPECT_EQ(t, sim_mmu_touch(&e->as, va_make(VA(0)), true), E_OK);
	INV(t);

	/* Unmap. */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_UNMAP, CAP_SLOTS), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_UNMAP, (1ULL << 32) | (uint64_t)s), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_UNMAP, CAP_SLOTS - 1), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_UNMAP, es), E_TYPE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_UNMAP, s2), E_NOENT);
	uint64_t flushes = tlb_flushes(e->home);
	EXPECT_EQ(t, SYS(e, SYS_UNMAP, s), 0);
	EXPECT(t, tlb_flushes(e->home) > flushes);
	EXPECT_EQ(t, mapped(e, VA(0)), ~0ULL);
	EXPECT_EQ(t, info(e, (uint32_t)s).bound_va, 0);
	EXPECT_EQ(t, sim_mmu_touch(&e->as, va_make(VA(0)), false), E_NOENT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_UNMAP, s), E_NOENT);
	/* The va is free again. */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s2, VA(0), PROT_R | PROT_W | PROT_X), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_MAP, s2, VA(0), PROT_W | PROT_X), E_INVAL); /* W^X */
	EXPECT_EQ(t, SYS(e, SYS_MAP, s2, VA(0), PROT_R | PROT_X), 0);
	INV(t);
	teardown(t, envs, 2);
}

TEST(env, sys_read_ad)
{
	if (!setup(t))
		return;
	struct env *envs[1] = { mkenv(t, 0) };
	struct env *e = envs[0];
	ASSERT(t, e);
	uint8_t *out = user_page(t, e, OUT_VA, PROT_R | PROT_W);
	ASSERT(t, out && user_page(t, e, RO_VA, PROT_R));
	ASSERT(t, user_page(t, e, VA(10), PROT_R | PROT_W));
	ASSERT(t, user_page(t, e, VA(11), PROT_R | PROT_W));
	ASSERT(t, user_page(t, e, VA(13), PROT_R));
	/* Mapping sets no bit; the MMU does. */
	EXPECT_EQ(t, sim_mmu_touch(&e->as, va_make(VA(10) + 100), false), E_OK);
	EXPECT_EQ(t, sim_mmu_touch(&e->as, va_make(VA(11) + 5), true), E_OK);
	memset(out, 0xcc, PAGE_SIZE);
	EXPECT_EQ(t, SYS(e, SYS_READ_AD, VA(10), 5, OUT_VA), 0);
	EXPECT_EQ(t, out[0], AD_MAPPED | AD_ACCESSED);
	EXPECT_EQ(t, out[1], AD_MAPPED | AD_ACCESSED | AD_DIRTY);
	EXPECT_EQ(t, out[2], 0);
	EXPECT_EQ(t, out[3], AD_MAPPED);
	EXPECT_EQ(t, out[4], 0);
	EXPECT_EQ(t, out[5], 0xcc); /* n bytes exactly */
	/* Reading clears them. */
	EXPECT_EQ(t, SYS(e, SYS_READ_AD, VA(10), 2, OUT_VA + 100), 0);
	EXPECT_EQ(t, out[100], AD_MAPPED);
	EXPECT_EQ(t, out[101], AD_MAPPED);
	INV(t);

	/* Set them again, then check that no failed call clears them or writes out. */
	EXPECT_EQ(t, sim_mmu_touch(&e->as, va_make(VA(10)), true), E_OK);
	EXPECT_EQ(t, sim_mmu_touch(&e->as, va_make(VA(13)), false), E_OK);
	memset(out, 0xcc, PAGE_SIZE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, VA(10) + 8, 1, OUT_VA), E_ALIGN);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, VA(10), 0, OUT_VA), E_RANGE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, VA(10), 513, OUT_VA), E_RANGE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, VA(10), ~0ULL, OUT_VA), E_RANGE);
	for (unsigned i = 0; i < ARRAY_SIZE(kernel_vas); i++)
		FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, kernel_vas[i], 1, OUT_VA), E_FAULT);
	for (unsigned i = 0; i < ARRAY_SIZE(noncanonical_vas); i++)
		FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, noncanonical_vas[i], 1, OUT_VA),
			      E_FAULT);
	for (unsigned i = 0; i < ARRAY_SIZE(low_vas); i++)
		FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, low_vas[i], 1, OUT_VA), E_FAULT);
	/* A range running off the end of user space. */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, USER_END - PAGE_SIZE, 2, OUT_VA), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, USER_END, 1, OUT_VA), E_FAULT);
	/* The out buffer: unmapped, read-only, kernel, straddling into an unmapped page. */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, VA(10), 4, HOLE_VA), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, VA(10), 4, RO_VA), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, VA(10), 4, kernel_vas[0]), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, VA(10), 4, noncanonical_vas[0]), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, VA(10), 4, 0), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, VA(10), 4, USER_END - 2), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, VA(10), 4, ~0ULL - 1), E_FAULT); /* wraps */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, VA(10), 512, ~0ULL - 100), E_FAULT);
	/* OUT_VA + 1 page is RO_VA: read-only, so a straddling write fails whole. */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, VA(10), 4, OUT_VA + PAGE_SIZE - 2), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_READ_AD, VA(10), 4, RO_VA + PAGE_SIZE - 2), E_FAULT);
	/* The bits survived all that. */
	EXPECT_EQ(t, SYS(e, SYS_READ_AD, VA(10), 4, OUT_VA), 0);
	EXPECT_EQ(t, out[0], AD_MAPPED | AD_ACCESSED | AD_DIRTY);
	EXPECT_EQ(t, out[3], AD_MAPPED | AD_ACCESSED);
	/* The largest request, ending at the top of user space. */
	EXPECT_EQ(t, SYS(e, SYS_READ_AD, USER_END - 512 * PAGE_SIZE, 512, OUT_VA), 0);
	unsigned nonzero = 0;
	for (unsigned i = 0; i < 512; i++)
		nonzero += out[i] != 0;
	EXPECT_EQ(t, nonzero, 0);
	INV(t);
	teardown(t, envs, 1);
}

/* ---- syscalls: capabilities ---- */

/* SYS_CAP_INSPECT into e's out page; the result read back. */
static int64_t sys_inspect(struct env *e, uint64_t slot, struct cap_info *i)
{
	int64_t r = SYS(e, SYS_CAP_INSPECT, slot, OUT_VA);
	if (r == 0)
		memcpy(i, frame_mem(mapped(e, OUT_VA)), sizeof(*i));
	return r;
}

TEST(env, sys_cap_inspect)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), mkenv(t, 1) };
	struct env *e = envs[0], *o = envs[1];
	ASSERT(t, e && o);
	ASSERT(t, user_page(t, e, OUT_VA, PROT_R | PROT_W) && user_page(t, e, RO_VA, PROT_R));
	int64_t s = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, s >= 0);
	ASSERT_EQ(t, SYS(e, SYS_MAP, s, VA(3), PROT_R), 0);
	uint32_t c1, c2, oc;
	ASSERT_EQ(t, cap_mint(e, (uint32_t)s, CAP_R_READ | CAP_R_GRANT, 6, &c1), E_OK);
	ASSERT_EQ(t, cap_mint(e, (uint32_t)s, CAP_R_READ, 0, &c2), E_OK);
	ASSERT_EQ(t, cap_grant(e, c1, o, false, &oc), E_OK);
	struct cap_info i;
	ASSERT_EQ(t, sys_inspect(e, s, &i), 0);
	EXPECT_EQ(t, i.type, OBJ_FRAME);
	EXPECT_EQ(t, i.rights, CAP_R_ALL);
	EXPECT_EQ(t, i.object, obj_of(e, s));
	EXPECT_EQ(t, i.gen, pot_get(i.object).gen);
	EXPECT_EQ(t, i.parent_env, CAP_NO_SLOT);
	EXPECT_EQ(t, i.parent_slot, CAP_NO_SLOT);
	EXPECT_EQ(t, i.depth, 0);
	EXPECT_EQ(t, i.children, 2);
	EXPECT_EQ(t, i.bound_va, VA(3));
	EXPECT_EQ(t, i.badge, 0);
	ASSERT_EQ(t, sys_inspect(e, c1, &i), 0);
	EXPECT_EQ(t, i.rights, CAP_R_READ | CAP_R_GRANT);
	EXPECT_EQ(t, i.badge, 6);
	EXPECT_EQ(t, i.parent_env, e->id);
	EXPECT_EQ(t, i.parent_slot, (uint32_t)s);
	EXPECT_EQ(t, i.depth, 1);
	EXPECT_EQ(t, i.children, 1);
	EXPECT_EQ(t, i.bound_va, 0);

	uint8_t *out = frame_mem(mapped(e, OUT_VA));
	memset(out, 0xcc, PAGE_SIZE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_INSPECT, CAP_SLOTS, OUT_VA), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_INSPECT, (1ULL << 32) | (uint64_t)s, OUT_VA),
		      E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_INSPECT, CAP_SLOTS - 1, OUT_VA), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_INSPECT, s, HOLE_VA), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_INSPECT, s, RO_VA), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_INSPECT, s, OUT_VA + PAGE_SIZE - 8), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_INSPECT, s, VA(3)), E_FAULT); /* mapped read-only */
	for (unsigned k = 0; k < ARRAY_SIZE(kernel_vas); k++)
		FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_INSPECT, s, kernel_vas[k]), E_FAULT);
	for (unsigned k = 0; k < ARRAY_SIZE(noncanonical_vas); k++)
		FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_INSPECT, s, noncanonical_vas[k]), E_FAULT);
	for (unsigned k = 0; k < ARRAY_SIZE(low_vas); k++)
		FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_INSPECT, s, low_vas[k]), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_INSPECT, s, USER_END - 8), E_FAULT);
	/* A range that wraps past 2^64: no page of it may be taken as checked. */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_INSPECT, s, ~0ULL - 15), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_INSPECT, s, ~0ULL), E_FAULT);
	/* Unaligned but inside the page: fine. */
	EXPECT_EQ(t, SYS(e, SYS_CAP_INSPECT, c2, OUT_VA + 3), 0);
	struct cap_info j;
	memcpy(&j, out + 3, sizeof(j));
	EXPECT_EQ(t, j.rights, CAP_R_READ);
	EXPECT_EQ(t, out[3 + sizeof(j)], 0xcc);
	INV(t);
	teardown(t, envs, 2);
}

TEST(env, sys_cap_mint)
{
	if (!setup(t))
		return;
	struct env *envs[1] = { mkenv(t, 0) };
	struct env *e = envs[0];
	ASSERT(t, e);
	int64_t s = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY), es = SYS(e, SYS_ENV_CREATE, 0);
	ASSERT(t, s >= 0 && es >= 0);
	int64_t c = SYS(e, SYS_CAP_MINT, s, CAP_R_READ | CAP_R_MAP | CAP_R_GRANT, 0xffffffffULL);
	ASSERT(t, c >= 0);
	EXPECT_EQ(t, info(e, (uint32_t)c).badge, 0xffffffffULL);
	EXPECT_EQ(t, info(e, (uint32_t)c).rights, CAP_R_READ | CAP_R_MAP | CAP_R_GRANT);
	int64_t ec = SYS(e, SYS_CAP_MINT, es, CAP_R_GRANT, 0);
	ASSERT(t, ec >= 0);
	EXPECT_EQ(t, info(e, (uint32_t)ec).type, OBJ_ENV);
	INV(t);

	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_MINT, s, CAP_R_ALL + 1, 0), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_MINT, s, 1ULL << 40, 0), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_MINT, s, CAP_R_READ, 1ULL << 32), E_RANGE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_MINT, s, CAP_R_READ, ~0ULL), E_RANGE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_MINT, CAP_SLOTS, CAP_R_READ, 0), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_MINT, (1ULL << 32) | (uint64_t)s, CAP_R_READ, 0),
		      E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_MINT, CAP_SLOTS - 1, CAP_R_READ, 0), E_BADSLOT);
	int64_t nog = SYS(e, SYS_CAP_MINT, s, CAP_R_READ | CAP_R_MAP, 0);
	ASSERT(t, nog >= 0);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_MINT, nog, CAP_R_READ, 0), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_MINT, c, CAP_R_READ, 5), E_PERM); /* badged */
	/* Depth: 32 levels, not 33. */
	int64_t d = s;
	for (unsigned k = 0; k < CAP_MAX_DEPTH; k++) {
		d = SYS(e, SYS_CAP_MINT, d, CAP_R_ALL, 0);
		ASSERT(t, d >= 0);
	}
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_MINT, d, CAP_R_ALL, 0), E_RANGE);
	/* Stale: the env it names is gone. */
	EXPECT_EQ(t, SYS(e, SYS_ENV_DESTROY, es), 0);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_MINT, es, CAP_R_GRANT, 0), E_STALE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_MINT, ec, 0, 0), E_STALE);
	/* Full. */
	while (SYS(e, SYS_CAP_MINT, s, CAP_R_READ, 0) >= 0)
		;
	EXPECT_EQ(t, caps_in(e), CAP_SLOTS);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_MINT, s, CAP_R_READ, 0), E_NOMEM);
	INV(t);
	teardown(t, envs, 1);
}

TEST(env, sys_cap_grant)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), NULL };
	struct env *p = envs[0];
	ASSERT(t, p);
	/* p creates q, so it holds a root env cap for it (with CTRL). */
	int64_t qs = SYS(p, SYS_ENV_CREATE, 2 % percpu_ncpus);
	ASSERT(t, qs >= 0);
	struct env *q = envs[1] = env_lookup((uint32_t)obj_of(p, qs));
	int64_t s = SYS(p, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, s >= 0);

	int64_t g = SYS(p, SYS_CAP_GRANT, s, qs, GRANT_COPY);
	ASSERT(t, g >= 0);
	struct cap_info i = info(q, (uint32_t)g);
	EXPECT_EQ(t, i.object, obj_of(p, s));
	EXPECT_EQ(t, i.parent_env, p->id);
	EXPECT_EQ(t, i.parent_slot, (uint32_t)s);
	int64_t leaf = SYS(p, SYS_CAP_MINT, s, CAP_R_ALL, 0);
	ASSERT(t, leaf >= 0);
	int64_t m = SYS(p, SYS_CAP_GRANT, leaf, qs, GRANT_MOVE);
	ASSERT(t, m >= 0);
	EXPECT(t, empty(p, (uint32_t)leaf));
	EXPECT_EQ(t, info(q, (uint32_t)m).parent_slot, (uint32_t)s);
	INV(t);

	int64_t fs = SYS(p, SYS_FRAME_ALLOC, FRAME_ANY);
	int64_t nctrl = SYS(p, SYS_CAP_MINT, qs, CAP_R_ALL & ~CAP_R_CTRL, 0);
	int64_t nog = SYS(p, SYS_CAP_MINT, s, CAP_R_ALL & ~CAP_R_GRANT, 0);
	int64_t kid = SYS(p, SYS_CAP_MINT, s, CAP_R_ALL, 0);
	int64_t bound = SYS(p, SYS_CAP_MINT, s, CAP_R_ALL, 0);
	ASSERT(t, fs >= 0 && nctrl >= 0 && nog >= 0 && kid >= 0 && bound >= 0);
	ASSERT(t, SYS(p, SYS_CAP_MINT, kid, CAP_R_ALL, 0) >= 0);
	ASSERT_EQ(t, SYS(p, SYS_MAP, bound, VA(4), PROT_R), 0);
	INV(t);
	/* Flags, then the env slot (bad, wrong type, no CTRL), then the cap. */
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, s, qs, 2), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, s, qs, ~0ULL), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, s, CAP_SLOTS, GRANT_COPY), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, s, (1ULL << 32) | (uint64_t)qs, GRANT_COPY),
		      E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, s, CAP_SLOTS - 1, GRANT_COPY), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, s, fs, GRANT_COPY), E_TYPE);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, s, nctrl, GRANT_COPY), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, CAP_SLOTS, qs, GRANT_COPY), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, (1ULL << 32) | (uint64_t)s, qs, GRANT_COPY),
		      E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, CAP_SLOTS - 1, qs, GRANT_MOVE), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, nog, qs, GRANT_COPY), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, nog, qs, GRANT_MOVE), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, s, qs, GRANT_MOVE), E_PERM);     /* a root */
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, kid, qs, GRANT_MOVE), E_BUSY);   /* children */
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, bound, qs, GRANT_MOVE), E_BUSY); /* bound */
	/* q's table full. */
	int64_t qf = SYS(q, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, qf >= 0);
	while (SYS(q, SYS_CAP_MINT, qf, CAP_R_READ, 0) >= 0)
		;
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, s, qs, GRANT_COPY), E_NOMEM);
	/* Rights are checked before the table is full. */
	FAILS_CLEANLY(t, envs, SYS(p, SYS_CAP_GRANT, s, nctrl, GRANT_COPY), E_PERM);
	/* q gone: its caps are stale, grants into it refused. */
	EXPECT_EQ(t, SYS(p, SYS_ENV_DESTROY, qs), 0);
	envs[1] = NULL;
	struct env *one[1] = { p };
	FAILS_CLEANLY(t, one, SYS(p, SYS_CAP_GRANT, s, qs, GRANT_COPY), E_STALE);
	/* Rights before generation. */
	FAILS_CLEANLY(t, one, SYS(p, SYS_CAP_GRANT, s, nctrl, GRANT_COPY), E_PERM);
	EXPECT_EQ(t, info(p, (uint32_t)s).children, 3); /* nog, kid, bound */
	INV(t);
	teardown(t, envs, 2);
}

TEST(env, sys_cap_revoke_and_delete)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), mkenv(t, 1) };
	struct env *e = envs[0], *o = envs[1];
	ASSERT(t, e && o);
	int64_t s = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, s >= 0);
	/* 20 descendants, half of them in o. */
	for (unsigned k = 0; k < 20; k++) {
		uint32_t x;
		if (k % 2)
			ASSERT_EQ(t, cap_grant(e, (uint32_t)s, o, false, &x), E_OK);
		else
			ASSERT(t, SYS(e, SYS_CAP_MINT, s, CAP_R_ALL, 0) >= 0);
	}
	INV(t);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_REVOKE, CAP_SLOTS), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_REVOKE, (1ULL << 32) | (uint64_t)s), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_REVOKE, CAP_SLOTS - 1), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_DELETE, s), E_BUSY);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_DELETE, CAP_SLOTS), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_DELETE, (1ULL << 32) | (uint64_t)s), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_DELETE, CAP_SLOTS - 1), E_BADSLOT);
	EXPECT_EQ(t, SYS(e, SYS_CAP_REVOKE, s), E_AGAIN);
	INV(t);
	EXPECT_EQ(t, caps_in(e) + caps_in(o), 1 + 20 - CAP_REVOKE_BATCH);
	EXPECT_EQ(t, SYS(e, SYS_CAP_REVOKE, s), 0);
	EXPECT_EQ(t, SYS(e, SYS_CAP_REVOKE, s), 0);
	INV(t);
	EXPECT_EQ(t, caps_in(o), 0);
	uint64_t free0 = frame_free_count();
	EXPECT_EQ(t, SYS(e, SYS_CAP_DELETE, s), 0);
	EXPECT_EQ(t, frame_free_count(), free0 + 1); /* deleting the root frees the frame */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CAP_DELETE, s), E_BADSLOT);
	INV(t);
	teardown(t, envs, 2);
}

/* ---- syscalls: environments ---- */

TEST(env, sys_env_create_destroy_status)
{
	if (!setup(t))
		return;
	struct env *envs[2] = { mkenv(t, 0), NULL };
	struct env *p = envs[0];
	ASSERT(t, p);
	unsigned n0 = env_count();
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_CREATE, percpu_ncpus), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_CREATE, MAX_CPUS), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_CREATE, ~0ULL), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_CREATE, 1ULL << 32), E_INVAL); /* not core 0 */
	int64_t xs = SYS(p, SYS_ENV_CREATE, percpu_ncpus - 1);
	ASSERT(t, xs >= 0);
	struct env *x = envs[1] = env_lookup((uint32_t)obj_of(p, xs));
	EXPECT_EQ(t, env_count(), n0 + 1);
	EXPECT_EQ(t, x->home, percpu_ncpus - 1);
	EXPECT_EQ(t, x->state, ENV_CREATED);
	INV(t);

	int64_t fs = SYS(p, SYS_FRAME_ALLOC, FRAME_ANY);
	int64_t nctrl = SYS(p, SYS_CAP_MINT, xs, CAP_R_ALL & ~CAP_R_CTRL, 0);
	int64_t none = SYS(p, SYS_CAP_MINT, xs, 0, 0);
	ASSERT(t, fs >= 0 && nctrl >= 0 && none >= 0);
	/* Status needs no right. */
	EXPECT_EQ(t, SYS(p, SYS_ENV_STATUS, xs), E_AGAIN);
	EXPECT_EQ(t, SYS(p, SYS_ENV_STATUS, none), E_AGAIN);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_STATUS, fs), E_TYPE);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_STATUS, CAP_SLOTS), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_STATUS, (1ULL << 32) | (uint64_t)xs), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_STATUS, CAP_SLOTS - 1), E_BADSLOT);
	/* Destroy: CTRL, the right type, not itself, not while running. */
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_DESTROY, fs), E_TYPE);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_DESTROY, nctrl), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_DESTROY, none), E_PERM);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_DESTROY, CAP_SLOTS), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_DESTROY, (1ULL << 32) | (uint64_t)xs), E_BADSLOT);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_DESTROY, CAP_SLOTS - 1), E_BADSLOT);
	uint32_t self;
	ASSERT_EQ(t, cap_grant(p, (uint32_t)xs, x, false, &self), E_OK);
	FAILS_CLEANLY(t, envs, SYS(x, SYS_ENV_DESTROY, self), E_BUSY);
	/* Running (as far as the table says): no status yet. The host cannot run it for real. */
	__atomic_store_n(&x->state, ENV_RUNNABLE, __ATOMIC_RELEASE);
	EXPECT_EQ(t, SYS(p, SYS_ENV_STATUS, xs), E_AGAIN);
	/* Exited: status returned, and it can be destroyed. */
	x->exit_status = 42;
	__atomic_store_n(&x->state, ENV_EXITED, __ATOMIC_RELEASE);
	EXPECT_EQ(t, SYS(p, SYS_ENV_STATUS, xs), 42);
	EXPECT_EQ(t, SYS(p, SYS_ENV_STATUS, none), 42);
	/* Start: the host has no program images, so every id is E_INVAL (checked first). */
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_START, xs, 0, 0), E_INVAL);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_START, CAP_SLOTS, ~0ULL, 0), E_INVAL);
	INV(t);
	/* Running again: destroy stops it on its home core, then destroys it (no E_BUSY). */
	__atomic_store_n(&x->state, ENV_RUNNABLE, __ATOMIC_RELEASE);
	EXPECT_EQ(t, SYS(p, SYS_ENV_DESTROY, xs), 0);
	EXPECT_EQ(t, env_count(), n0);
	envs[1] = NULL;
	EXPECT_EQ(t, SYS(p, SYS_ENV_STATUS, xs), E_STALE);
	FAILS_CLEANLY(t, envs, SYS(p, SYS_ENV_DESTROY, xs), E_STALE);
	INV(t);

	/* p's table full: E_NOMEM, and no environment is left behind. */
	while (SYS(p, SYS_CAP_MINT, fs, CAP_R_READ, 0) >= 0)
		;
	uint64_t free1 = frame_free_count();
	EXPECT_EQ(t, SYS(p, SYS_ENV_CREATE, 0), E_NOMEM);
	EXPECT_EQ(t, env_count(), n0);
	EXPECT_EQ(t, frame_free_count(), free1);
	INV(t);
	teardown(t, envs, 2);
}

TEST(env, sys_misc)
{
	if (!setup(t))
		return;
	struct env *envs[1] = { mkenv(t, 0) };
	struct env *e = envs[0];
	ASSERT(t, e);
	uint8_t *out = user_page(t, e, OUT_VA, PROT_R | PROT_W);
	ASSERT(t, out);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_COUNT, 0), E_NOTSUP);
	FAILS_CLEANLY(t, envs, SYS(e, ~0ULL, 0), E_NOTSUP);
	FAILS_CLEANLY(t, envs, SYS(e, 1ULL << 32, 0), E_NOTSUP);
	EXPECT_EQ(t, SYS(e, SYS_FRAME_COUNT, 0), (int64_t)frame_free_count());
	EXPECT_EQ(t, SYS(e, SYS_DEBUG_CHECK, 0), 0);
	EXPECT_EQ(t, SYS(e, SYS_CORE_ID, 0), cpu_id());
	/* Time into user memory; the same address checks as any out-parameter. */
	memset(out, 0, PAGE_SIZE);
	EXPECT_EQ(t, SYS(e, SYS_TIME, OUT_VA), 0);
	struct sys_time st;
	memcpy(&st, out, sizeof(st));
	EXPECT(t, st.cycles > 0);
	EXPECT_EQ(t, st.cycles_hz, arch_cycles_per_sec());
	FAILS_CLEANLY(t, envs, SYS(e, SYS_TIME, HOLE_VA), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_TIME, kernel_vas[0]), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_TIME, OUT_VA + PAGE_SIZE - 4), E_FAULT);
	/* Console: length limit, and the source must be mapped. */
	memcpy(out, "env_test: hello from user memory\n", 34); /* with its NUL */
	EXPECT_EQ(t, SYS(e, SYS_CONSOLE_WRITE, OUT_VA, 33), 33);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CONSOLE_WRITE, OUT_VA, 4097), E_RANGE);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CONSOLE_WRITE, HOLE_VA, 1), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CONSOLE_WRITE, OUT_VA + PAGE_SIZE - 1, 2), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CONSOLE_WRITE, kernel_vas[1], 1), E_FAULT);
	FAILS_CLEANLY(t, envs, SYS(e, SYS_CONSOLE_WRITE, ~0ULL - 1, 4), E_FAULT); /* wraps */
	FAILS_CLEANLY(t, envs, SYS(e, SYS_TIME, ~0ULL - 7), E_FAULT);
	INV(t);
	teardown(t, envs, 1);
}

/*
 * The entry's fast path (user.S) calls syscall_table[nr] for every nr in
 * syscall_fast_set: each must have a handler, and none may be a call that
 * leaves through another context (those read arch_user_regs()).
 */
TEST(syscall, fast_set_has_handlers_and_no_leaving_call)
{
	for (unsigned nr = 0; nr < 64; nr++) {
		if (!(syscall_fast_set & (1ULL << nr)))
			continue;
		EXPECT(t, nr < SYS_COUNT);
		EXPECT(t, nr < SYS_COUNT && syscall_table[nr] != NULL);
	}
	static const unsigned leaving[] = { SYS_YIELD,	    SYS_EXIT,	    SYS_FRAME_ALLOC,
					    SYS_YIELD_TO,   SYS_PCT_CALL,   SYS_PCT_REPLY,
					    SYS_BLOCK_WAIT, SYS_ENV_DESTROY };
	for (unsigned i = 0; i < sizeof(leaving) / sizeof(leaving[0]); i++)
		EXPECT_EQ(t, syscall_fast_set & (1ULL << leaving[i]), 0);
	EXPECT(t, syscall_fast_set & (1ULL << SYS_CORE_ID));
}
