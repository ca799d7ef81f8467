/*
 * Every syscall used correctly, and with each class of bad input: each gets
 * its documented error (docs/syscalls.md) and changes nothing, which the
 * tests check by reading the state back and by the kernel's invariant
 * checker (SYS_DEBUG_CHECK). arg: the program id of "hello".
 */
#include <exo/test.h>
#include <libos/libos.h>

#define VA 0x10000000ULL		  /* a free user address for mappings */
#define KERNEL_VA 0xffffffff80100000ULL	  /* the kernel image */
#define NONCANON 0x0000900000000000ULL	  /* between the halves */

static uint64_t hello_prog, my_core;
static uint8_t scratch[4096] __attribute__((aligned(4096)));

static void check(struct test_ctx *t) { EXPECT_EQ(t, sys_debug_check(), 0); }

static struct cap_info inspect(uint64_t slot)
{
	struct cap_info ci = { 0 };
	(void)sys_cap_inspect(slot, &ci);
	return ci;
}

TEST(console, write_and_bad_buffers)
{
	EXPECT_EQ(t, sys_console_write("console ok\n", 11), 11);
	EXPECT_EQ(t, sys_console_write((void *)0, 1), E_FAULT);
	EXPECT_EQ(t, sys_console_write((void *)KERNEL_VA, 8), E_FAULT);
	EXPECT_EQ(t, sys_console_write((void *)NONCANON, 8), E_FAULT);
	EXPECT_EQ(t, sys_console_write(scratch, 4097), E_RANGE);
	EXPECT_EQ(t, sys_console_write(scratch, 0), 0);
	check(t);
}

TEST(misc, core_time_and_unknown_call)
{
	EXPECT_EQ(t, sys_core_id(), (int64_t)my_core);
	struct sys_time a, b;
	EXPECT_EQ(t, sys_time(&a), 0);
	EXPECT_EQ(t, sys_time(&b), 0);
	EXPECT(t, b.cycles >= a.cycles && a.cycles_hz > 0);
	EXPECT_EQ(t, sys_time((struct sys_time *)KERNEL_VA), E_FAULT);
	EXPECT_EQ(t, sys_time((struct sys_time *)(uintptr_t)main), E_FAULT); /* read-only text */
	EXPECT_EQ(t, sys_call6(SYS_COUNT, 0, 0, 0, 0, 0, 0), E_NOTSUP);
	EXPECT_EQ(t, sys_call6(~0ULL, 0, 0, 0, 0, 0, 0), E_NOTSUP);
	EXPECT_EQ(t, sys_yield(), 0);
	check(t);
}

/* Map and unmap once at VA, so the page-table pages there exist before counting. */
static void warm_tables(void)
{
	int64_t s = sys_frame_alloc(FRAME_ANY);
	(void)sys_map((uint64_t)s, VA, PROT_R);
	(void)sys_frame_free((uint64_t)s);
}

TEST(frame, alloc_map_use_unmap_free)
{
	warm_tables();
	int64_t before = sys_frame_count();
	int64_t s = sys_frame_alloc(FRAME_ANY);
	ASSERT(t, s >= 0);
	EXPECT_EQ(t, sys_frame_count(), before - 1);
	struct cap_info ci = inspect((uint64_t)s);
	EXPECT_EQ(t, ci.type, OBJ_FRAME);
	EXPECT_EQ(t, ci.rights, CAP_R_ALL);
	EXPECT_EQ(t, ci.depth, 0);
	EXPECT_EQ(t, sys_map((uint64_t)s, VA, PROT_R | PROT_W), 0);
	EXPECT_EQ(t, inspect((uint64_t)s).bound_va, VA);
	volatile uint64_t *p = (volatile uint64_t *)VA;
	EXPECT_EQ(t, p[0], 0); /* frames come zeroed */
	p[0] = 0x1234;
	p[511] = 0x5678;
	EXPECT_EQ(t, p[0] + p[511], 0x1234 + 0x5678);
	uint8_t ad[2] = { 0xff, 0xff };
	EXPECT_EQ(t, sys_read_ad(VA, 2, ad), 0);
	EXPECT_EQ(t, ad[0], AD_MAPPED | AD_ACCESSED | AD_DIRTY);
	EXPECT_EQ(t, ad[1], 0);
	EXPECT_EQ(t, sys_read_ad(VA, 1, ad), 0);
	EXPECT_EQ(t, ad[0], AD_MAPPED); /* read and cleared */
	(void)p[1];
	EXPECT_EQ(t, sys_read_ad(VA, 1, ad), 0);
	EXPECT_EQ(t, ad[0], AD_MAPPED | AD_ACCESSED);
	EXPECT_EQ(t, sys_unmap((uint64_t)s), 0);
	EXPECT_EQ(t, sys_read_ad(VA, 1, ad), 0);
	EXPECT_EQ(t, ad[0], 0);
	EXPECT_EQ(t, sys_unmap((uint64_t)s), E_NOENT);
	EXPECT_EQ(t, sys_frame_free((uint64_t)s), 0);
	EXPECT_EQ(t, sys_frame_count(), before);
	check(t);
}

TEST(frame, by_number_and_its_errors)
{
	int64_t s = sys_frame_alloc(FRAME_ANY);
	ASSERT(t, s >= 0);
	struct cap_info ci = inspect((uint64_t)s);
	EXPECT_EQ(t, sys_frame_alloc(ci.object), E_BUSY);	  /* owned (by us) */
	EXPECT_EQ(t, sys_frame_free((uint64_t)s), 0);
	EXPECT_EQ(t, sys_frame_free((uint64_t)s), E_BADSLOT);	  /* double free */
	int64_t again = sys_frame_alloc(ci.object);		  /* free again: by name */
	ASSERT(t, again >= 0);
	struct cap_info ci2 = inspect((uint64_t)again);
	EXPECT_EQ(t, ci2.object, ci.object);
	EXPECT(t, ci2.gen == ci.gen + 1); /* a new incarnation */
	EXPECT_EQ(t, sys_frame_free((uint64_t)again), 0);
	EXPECT_EQ(t, sys_frame_alloc(1ULL << 40), E_RANGE);	  /* past the end of memory */
	EXPECT_EQ(t, sys_frame_alloc(0), E_PERM);		  /* the kernel's */
	EXPECT_EQ(t, sys_frame_free(CAP_SLOTS), E_BADSLOT);
	EXPECT_EQ(t, sys_frame_free(~0ULL), E_BADSLOT);
	check(t);
}

TEST(map, bad_addresses_change_nothing)
{
	int64_t s = sys_frame_alloc(FRAME_ANY), s2 = sys_frame_alloc(FRAME_ANY);
	ASSERT(t, s >= 0 && s2 >= 0);
	EXPECT_EQ(t, sys_map((uint64_t)s, VA + 8, PROT_R), E_ALIGN);
	EXPECT_EQ(t, sys_map((uint64_t)s, KERNEL_VA, PROT_R), E_FAULT);
	EXPECT_EQ(t, sys_map((uint64_t)s, NONCANON, PROT_R), E_FAULT);
	EXPECT_EQ(t, sys_map((uint64_t)s, USER_END, PROT_R), E_FAULT);
	EXPECT_EQ(t, sys_map((uint64_t)s, 0x1000, PROT_R), E_FAULT); /* below USER_BASE */
	EXPECT_EQ(t, sys_map((uint64_t)s, VA, 0), E_INVAL);
	EXPECT_EQ(t, sys_map((uint64_t)s, VA, 8), E_INVAL);
	EXPECT_EQ(t, sys_map(CAP_SLOTS + 5, VA, PROT_R), E_BADSLOT);
	EXPECT_EQ(t, inspect((uint64_t)s).bound_va, 0);
	EXPECT_EQ(t, sys_map((uint64_t)s, VA, PROT_R), 0);
	EXPECT_EQ(t, sys_map((uint64_t)s, VA + 4096, PROT_R), E_BUSY); /* one binding per cap */
	EXPECT_EQ(t, sys_map((uint64_t)s2, VA, PROT_R), E_EXIST);	/* over a mapping */
	EXPECT_EQ(t, inspect((uint64_t)s2).bound_va, 0);
	EXPECT_EQ(t, sys_frame_free((uint64_t)s), 0); /* freeing unmaps */
	uint8_t ad = 0xff;
	EXPECT_EQ(t, sys_read_ad(VA, 1, &ad), 0);
	EXPECT_EQ(t, ad, 0);
	EXPECT_EQ(t, sys_read_ad(VA + 1, 1, &ad), E_ALIGN);
	EXPECT_EQ(t, sys_read_ad(VA, 0, &ad), E_RANGE);
	EXPECT_EQ(t, sys_read_ad(VA, 513, &ad), E_RANGE);
	EXPECT_EQ(t, sys_read_ad(KERNEL_VA & ~0xfffULL, 1, &ad), E_FAULT);
	EXPECT_EQ(t, sys_read_ad(VA, 1, (uint8_t *)KERNEL_VA), E_FAULT);
	EXPECT_EQ(t, sys_frame_free((uint64_t)s2), 0);
	check(t);
}

TEST(map, needs_the_rights)
{
	int64_t s = sys_frame_alloc(FRAME_ANY);
	ASSERT(t, s >= 0);
	int64_t nomap = sys_cap_mint((uint64_t)s, CAP_R_READ | CAP_R_WRITE, 0);
	int64_t ro = sys_cap_mint((uint64_t)s, CAP_R_READ | CAP_R_MAP, 0);
	ASSERT(t, nomap >= 0 && ro >= 0);
	EXPECT_EQ(t, sys_map((uint64_t)nomap, VA, PROT_R), E_PERM);
	EXPECT_EQ(t, sys_map((uint64_t)ro, VA, PROT_R | PROT_W), E_PERM);
	EXPECT_EQ(t, sys_map((uint64_t)ro, VA, PROT_R | PROT_X), E_PERM);
	EXPECT_EQ(t, sys_map((uint64_t)ro, VA, PROT_R), 0);
	EXPECT_EQ(t, sys_frame_free((uint64_t)ro), E_PERM);	/* not the root */
	EXPECT_EQ(t, sys_frame_free((uint64_t)s), E_BUSY);	/* derived caps exist */
	EXPECT_EQ(t, sys_cap_revoke((uint64_t)s), 0);		/* unmaps ro's binding */
	uint8_t ad = 0xff;
	EXPECT_EQ(t, sys_read_ad(VA, 1, &ad), 0);
	EXPECT_EQ(t, ad, 0);
	EXPECT_EQ(t, sys_frame_free((uint64_t)s), 0);
	check(t);
}

TEST(cap, mint_never_adds_rights)
{
	int64_t s = sys_frame_alloc(FRAME_ANY);
	ASSERT(t, s >= 0);
	int64_t a = sys_cap_mint((uint64_t)s, CAP_R_READ | CAP_R_MAP | CAP_R_GRANT, 7);
	ASSERT(t, a >= 0);
	int64_t b = sys_cap_mint((uint64_t)a, CAP_R_ALL, 0);
	ASSERT(t, b >= 0);
	struct cap_info cb = inspect((uint64_t)b);
	EXPECT_EQ(t, cb.rights, CAP_R_READ | CAP_R_MAP | CAP_R_GRANT);
	EXPECT_EQ(t, cb.badge, 7);
	EXPECT_EQ(t, cb.depth, 2);
	EXPECT_EQ(t, cb.parent_slot, (uint64_t)a);
	EXPECT_EQ(t, sys_cap_mint((uint64_t)a, CAP_R_READ, 9), E_PERM);	  /* badge is fixed */
	EXPECT_EQ(t, sys_cap_mint((uint64_t)s, 1ULL << 6, 0), E_INVAL);	  /* unknown right */
	EXPECT_EQ(t, sys_cap_mint((uint64_t)s, CAP_R_READ, 1ULL << 32), E_RANGE);
	int64_t nogrant = sys_cap_mint((uint64_t)s, CAP_R_READ, 0);
	ASSERT(t, nogrant >= 0);
	EXPECT_EQ(t, sys_cap_mint((uint64_t)nogrant, CAP_R_READ, 0), E_PERM);
	EXPECT_EQ(t, sys_cap_mint(CAP_SLOTS, CAP_R_READ, 0), E_BADSLOT);
	EXPECT_EQ(t, sys_cap_delete((uint64_t)s), E_BUSY);
	EXPECT_EQ(t, sys_cap_revoke((uint64_t)s), 0);
	EXPECT_EQ(t, sys_cap_inspect((uint64_t)b, &cb), E_BADSLOT);
	EXPECT_EQ(t, sys_frame_free((uint64_t)s), 0);
	check(t);
}

TEST(cap, revoke_is_exact_and_bounded)
{
	int64_t root = sys_frame_alloc(FRAME_ANY);
	ASSERT(t, root >= 0);
	int64_t a = sys_cap_mint((uint64_t)root, CAP_R_ALL, 0);
	int64_t b = sys_cap_mint((uint64_t)root, CAP_R_ALL, 0);
	int64_t a1 = sys_cap_mint((uint64_t)a, CAP_R_ALL, 0);
	int64_t a11 = sys_cap_mint((uint64_t)a1, CAP_R_ALL, 0);
	ASSERT(t, a >= 0 && b >= 0 && a1 >= 0 && a11 >= 0);
	EXPECT_EQ(t, sys_cap_revoke((uint64_t)a), 0); /* a1 and its child a11, not b */
	struct cap_info ci;
	EXPECT_EQ(t, sys_cap_inspect((uint64_t)a1, &ci), E_BADSLOT);
	EXPECT_EQ(t, sys_cap_inspect((uint64_t)a11, &ci), E_BADSLOT);
	EXPECT_EQ(t, sys_cap_inspect((uint64_t)a, &ci), 0);
	EXPECT_EQ(t, sys_cap_inspect((uint64_t)b, &ci), 0);
	EXPECT_EQ(t, inspect((uint64_t)root).children, 2);
	/* 40 descendants take more than one call; each call does a bounded batch. */
	for (int i = 0; i < 38; i++)
		ASSERT(t, sys_cap_mint((uint64_t)b, CAP_R_ALL, 0) >= 0);
	int calls = 1;
	int64_t r;
	while ((r = sys_cap_revoke((uint64_t)root)) == E_AGAIN)
		calls++;
	EXPECT_EQ(t, r, 0);
	EXPECT(t, calls >= 3);
	EXPECT_EQ(t, inspect((uint64_t)root).children, 0);
	EXPECT_EQ(t, sys_frame_free((uint64_t)root), 0);
	check(t);
}

TEST(env, create_start_wait_destroy)
{
	int64_t before = sys_frame_count();
	int64_t e = sys_env_create(my_core);
	ASSERT(t, e >= 0);
	EXPECT_EQ(t, inspect((uint64_t)e).type, OBJ_ENV);
	EXPECT_EQ(t, sys_env_status((uint64_t)e), E_AGAIN);
	EXPECT_EQ(t, sys_env_start((uint64_t)e, hello_prog, 7), 0);
	EXPECT_EQ(t, sys_env_start((uint64_t)e, hello_prog, 7), E_BUSY);
	int64_t st;
	for (int i = 0; (st = sys_env_status((uint64_t)e)) == E_AGAIN && i < 1000; i++)
		sys_yield();
	EXPECT_EQ(t, st, 7);
	EXPECT_EQ(t, sys_env_destroy((uint64_t)e), 0);
	EXPECT_EQ(t, sys_env_start((uint64_t)e, hello_prog, 7), E_STALE);
	EXPECT_EQ(t, sys_env_destroy((uint64_t)e), E_STALE);
	EXPECT_EQ(t, sys_cap_delete((uint64_t)e), 0);
	EXPECT_EQ(t, sys_frame_count(), before);
	EXPECT_EQ(t, sys_env_create(64), E_INVAL);
	EXPECT_EQ(t, sys_env_create(~0ULL), E_INVAL);
	check(t);
}

TEST(env, on_another_core)
{
	/* The next core, if there is one: its kernel instance runs the child. */
	int64_t e = sys_env_create(my_core + 1);
	if (e == E_INVAL) {
		printf("env.on_another_core: one core only; nothing to check\n");
		return;
	}
	ASSERT(t, e >= 0);
	int64_t before = sys_frame_count();
	EXPECT_EQ(t, sys_env_start((uint64_t)e, hello_prog, 9), 0);
	int64_t st;
	for (int i = 0; (st = sys_env_status((uint64_t)e)) == E_AGAIN && i < 100000; i++)
		sys_yield();
	EXPECT_EQ(t, st, 9);
	EXPECT_EQ(t, sys_env_destroy((uint64_t)e), 0);
	EXPECT_EQ(t, sys_cap_delete((uint64_t)e), 0);
	EXPECT(t, sys_frame_count() > before); /* its program and tables came back */
	check(t);
}

TEST(env, bad_programs_types_and_rights)
{
	int64_t e = sys_env_create(my_core), f = sys_frame_alloc(FRAME_ANY);
	ASSERT(t, e >= 0 && f >= 0);
	EXPECT_EQ(t, sys_env_start((uint64_t)e, 9999, 0), E_INVAL);
	EXPECT_EQ(t, sys_env_start((uint64_t)f, hello_prog, 0), E_TYPE);
	EXPECT_EQ(t, sys_map((uint64_t)e, VA, PROT_R), E_TYPE);
	int64_t weak = sys_cap_mint((uint64_t)e, CAP_R_GRANT, 0);
	ASSERT(t, weak >= 0);
	EXPECT_EQ(t, sys_env_start((uint64_t)weak, hello_prog, 0), E_PERM);
	EXPECT_EQ(t, sys_cap_grant((uint64_t)f, (uint64_t)weak, GRANT_COPY), E_PERM);
	EXPECT_EQ(t, sys_cap_grant((uint64_t)f, (uint64_t)e, 5), E_INVAL);
	int64_t in_child = sys_cap_grant((uint64_t)f, (uint64_t)e, GRANT_COPY);
	EXPECT(t, in_child >= 0);
	EXPECT_EQ(t, inspect((uint64_t)f).children, 1);
	EXPECT_EQ(t, sys_cap_grant((uint64_t)f, (uint64_t)e, GRANT_MOVE), E_PERM); /* a root */
	/* Destroying the child deletes the granted cap (and unlinks it from our tree). */
	EXPECT_EQ(t, sys_cap_revoke((uint64_t)e), 0);
	EXPECT_EQ(t, sys_env_destroy((uint64_t)e), 0);
	EXPECT_EQ(t, inspect((uint64_t)f).children, 0);
	EXPECT_EQ(t, sys_cap_delete((uint64_t)e), 0);
	EXPECT_EQ(t, sys_frame_free((uint64_t)f), 0);
	check(t);
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	hello_prog = arg;
	my_core = core;
	return (int)test_run("all");
}
