/*
 * Visible revocation with cooperative, slow and hostile libOSes (the owner
 * program's modes), on the owner's own core and from another core.
 */
#include <arch/cpu.h>
#include <arch/phys.h>
#include <exo/abi.h>
#include <exo/cap.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/image.h>
#include <exo/pot.h>
#include <exo/revoke.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include <ipi.h>
#include <percpu.h>

#define NFRAMES 4 /* the owner program holds this many */

/* Frames e allocated itself (revocable) that it has mapped. */
static unsigned mapped_frames(struct env *e)
{
	unsigned bound = 0;
	for (uint32_t s = 0; s < CAP_SLOTS; s++) {
		struct cap_info ci;
		int root;
		if (cap_inspect(e, s, &ci) != E_OK || ci.type != OBJ_FRAME || !ci.bound_va)
			continue;
		(void)cap_revocable_find(e, ci.object, &root);
		bound += root >= 0;
	}
	return bound;
}

/* Start the owner program in mode on this core and let it take its frames. */
static struct env *owner(struct test_ctx *t, unsigned mode)
{
	struct env *e;
	if (env_create(cpu_id(), &e) != E_OK ||
	    env_start(e, (unsigned)image_find("owner"), mode, NULL)) {
		test_fail(t, __FILE__, __LINE__, "could not start the owner");
		return NULL;
	}
	/*
	 * Run it until it holds its frames (revocable: the ones it allocated)
	 * and has mapped them all. (Asked as soon as it held four, a slice
	 * could have ended between its last allocation and that frame's map,
	 * whose E_STALE then ended it with status 100 — 4 in the low bits.)
	 */
	for (unsigned i = 0; i < 1000 && mapped_frames(e) < NFRAMES; i++)
		if (sched_run_slices(1) == 0)
			break;
	EXPECT_EQ(t, cap_revocable_frames(e, NULL, 0), NFRAMES);
	EXPECT_EQ(t, mapped_frames(e), NFRAMES);
	return e;
}

/* Ask for 2 frames, run the owner to its end; its exit status and what the kernel saw. */
static int revoke_two(struct test_ctx *t, unsigned mode, uint64_t *taken)
{
	uint64_t free_before = frame_free_count();
	struct env *e = owner(t, mode);
	if (!e)
		return -1;
	EXPECT_EQ(t, revoke_ask(e, FRAME_ANY, 2), E_OK);
	EXPECT_EQ(t, revoke_ask(e, FRAME_ANY, 2), E_BUSY); /* one request at a time */
	sched_run();
	int status = e->exit_status;
	*taken = e->reposs_total;
	EXPECT_EQ(t, e->revoke_state, REV_NONE);
	EXPECT_EQ(t, invariant_check(), 0);
	EXPECT_EQ(t, env_destroy(e), E_OK);
	EXPECT_EQ(t, frame_free_count(), free_before);
	return status;
}

TEST(revoke, cooperative_libos_returns_frames)
{
	uint64_t taken = ~0ULL; /* revoke_two sets it (unless it fails first) */
	EXPECT_EQ(t, revoke_two(t, 0, &taken), NFRAMES - 2); /* it gave two back itself */
	EXPECT_EQ(t, taken, 0);
}

TEST(revoke, silent_libos_loses_them_at_the_deadline)
{
	uint64_t taken = ~0ULL; /* revoke_two sets it (unless it fails first) */
	EXPECT_EQ(t, revoke_two(t, 1, &taken), (NFRAMES - 2) + 16); /* taken, and told */
	EXPECT_EQ(t, taken, 2);
}

TEST(revoke, libos_without_handler_loses_them_at_once)
{
	uint64_t taken = ~0ULL; /* revoke_two sets it (unless it fails first) */
	int st = revoke_two(t, 2, &taken);
	EXPECT_EQ(t, st & 15, NFRAMES - 2);
	EXPECT_EQ(t, taken, 2);
}

TEST(revoke, hostile_returns_are_refused)
{
	uint64_t taken = ~0ULL; /* revoke_two sets it (unless it fails first) */
	EXPECT_EQ(t, revoke_two(t, 3, &taken), NFRAMES - 2); /* no bad return accepted (+32) */
	EXPECT_EQ(t, taken, 0);
}

TEST(revoke, bad_requests)
{
	struct env *e = owner(t, 0);
	ASSERT(t, e != NULL);
	EXPECT_EQ(t, revoke_ask(e, FRAME_ANY, 0), E_INVAL);
	EXPECT_EQ(t, revoke_ask(e, 5, 2), E_INVAL);
	EXPECT_EQ(t, revoke_ask(e, pot_nframes(), 1), E_RANGE);
	EXPECT_EQ(t, revoke_ask(e, 0, 1), E_PERM); /* the kernel's frame, not e's */
	e->guarantee = e->frames_owned;
	EXPECT_EQ(t, revoke_ask(e, FRAME_ANY, 1), E_PERM); /* within its guarantee */
	e->guarantee = 0;
	EXPECT_EQ(t, sched_stop(e, 0), E_OK);
	EXPECT_EQ(t, env_destroy(e), E_OK);
}

/* Ask from this core for frames of an owner on core 1, whose kernel instance handles it. */
static struct env *remote;
static void start_remote(void *arg)
{
	(void)env_create(cpu_id(), &remote);
	(void)env_start(remote, (unsigned)image_find("owner"), (unsigned)(uintptr_t)arg, NULL);
	sched_run();
}

TEST(revoke, from_another_core_abort_path)
{
	if (percpu_ncpus < 2 || cpu_id() != 0) {
		kprintf("revoke: needs cpu0 and a second core; skipped\n");
		return;
	}
	remote = NULL;
	ASSERT_EQ(t, smp_call_start(1, start_remote, (void *)1), E_OK); /* mode 1: never answers */
	uint64_t end = arch_cycles() + arch_cycles_per_sec() * 5;
	while ((!remote || mapped_frames(remote) < NFRAMES) && arch_cycles() < end)
		arch_cpu_relax();
	ASSERT(t, remote != NULL);
	int err;
	while ((err = revoke_ask(remote, FRAME_ANY, 2)) == E_BUSY && arch_cycles() < end)
		arch_cpu_relax();
	EXPECT_EQ(t, err, E_OK);
	EXPECT_EQ(t, smp_call_wait(1, arch_cycles_per_sec() * 20), E_OK);
	EXPECT_EQ(t, remote->exit_status, (NFRAMES - 2) + 16);
	EXPECT_EQ(t, remote->reposs_total, 2);
	EXPECT_EQ(t, env_destroy(remote), E_OK);
	EXPECT_EQ(t, invariant_check(), 0);
}

/* Take every free frame for a pretend owner (not an environment); a list through the frames. */
#define HOG_OWNER (MAX_ENVS + 7)
static uint64_t hog_all(void)
{
	uint64_t head = ~0ULL, f, g;
	while (frame_alloc_any(HOG_OWNER, false, &f, &g) == E_OK) {
		*(uint64_t *)arch_phys_to_virt(pa_make(f * PAGE_SIZE)) = head;
		head = f;
	}
	return head;
}

static void unhog(uint64_t head)
{
	while (head != ~0ULL) {
		uint64_t next = *(uint64_t *)arch_phys_to_virt(pa_make(head * PAGE_SIZE));
		(void)frame_free(head, HOG_OWNER, pot_get(head).gen);
		head = next;
	}
}

TEST(revoke, memory_pressure_revokes_then_the_allocation_waits)
{
	uint64_t before = frame_free_count();
	struct env *a = owner(t, 0); /* cooperative, holding NFRAMES revocable frames */
	struct env *b;
	ASSERT(t, a != NULL);
	ASSERT_EQ(t, env_create(cpu_id(), &b), E_OK);
	ASSERT_EQ(t, env_start(b, (unsigned)image_find("pressure"), 0, NULL), E_OK);
	uint64_t hog = hog_all();
	EXPECT_EQ(t, frame_free_count(), 0);
	sched_run();
	unhog(hog);
	EXPECT_EQ(t, b->exit_status, 0);
	EXPECT_EQ(t, a->exit_status, NFRAMES - 1); /* it gave one back when asked */
	EXPECT_EQ(t, env_destroy(a), E_OK);
	EXPECT_EQ(t, env_destroy(b), E_OK);
	EXPECT_EQ(t, frame_free_count(), before);
	EXPECT_EQ(t, invariant_check(), 0);
}
