/* Shared host-test helpers (support.h). */
#include "support.h"

#include <arch/mm.h>
#include <chan.h>
#include <exo/boot.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/kprintf.h>
#include <exo/pot.h>
#include <exo/syscall.h>
#include <percpu.h>
#include <arch/sim.h>

struct pot_entry pot_table[MEM_FRAMES];

void pot_setup(void)
{
	static const struct boot_mem mem[] = { { .base = 0, .len = MEM_BYTES, .usable = true } };
	pot_init(pot_table, MEM_FRAMES, mem, 1, 0, KERNEL_FRAMES * PAGE_SIZE);
}

void machine_setup(void)
{
	pot_setup();
	chan_reset();
	if (chan_init() != E_OK)
		kprintf("host tests: no memory for the message rings\n"); /* setup() fails on the count */
}

int nested_machine(unsigned ncores, uint64_t seed, struct pot_entry *table, uint64_t bytes)
{
	sim_init(&(struct sim_config){ .ncores = ncores, .seed = seed, .phys_bytes = bytes,
				       .stack_bytes = 256 << 10 });
	const struct boot_mem mem[] = { { .base = 0, .len = bytes, .usable = true } };
	pot_init(table, bytes / PAGE_SIZE, mem, 1, 0, 1 << 20);
	chan_reset(); /* the outer machine's rings are not in this memory */
	return chan_init();
}

void nested_machine_end(void)
{
	chan_reset(); /* the rings were in this machine's memory */
	sim_fini();
}

/* Destroy what an earlier, failed test left behind (its asserts returned early). */
static void destroy_leftovers(void)
{
	for (uint32_t id = 0; id < MAX_ENVS; id++) {
		struct env *e = env_lookup(id);
		uint32_t s = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
		if (s == ENV_CREATED || s == ENV_EXITED) {
			kprintf("host tests: destroying env %u left by an earlier test\n", id);
			(void)env_destroy(e);
		}
	}
}

bool setup(struct test_ctx *t)
{
	destroy_leftovers();
	if (!EXPECT_EQ(t, env_count(), 0) || !EXPECT(t, sim_phys_bytes() >= MEM_BYTES))
		return false;
	machine_setup();
	return EXPECT_EQ(t, frame_free_count(), FREE_FRAMES);
}

unsigned home_of(unsigned i) { return (i + 1) % percpu_ncpus; }

struct env *mkenv(struct test_ctx *t, unsigned i)
{
	struct env *e = NULL;
	if (!EXPECT_EQ(t, env_create(home_of(i), &e), E_OK))
		return NULL;
	return e;
}

bool empty(struct env *e, uint32_t slot)
{
	struct cap_info i;
	return cap_inspect(e, slot, &i) == E_BADSLOT;
}

unsigned caps_in(struct env *e)
{
	unsigned n = 0;
	for (uint32_t s = 0; s < CAP_SLOTS; s++)
		n += __atomic_load_n(&e->caps[s].type, __ATOMIC_ACQUIRE) != OBJ_NONE;
	return n;
}

uint64_t mapped(struct env *e, uint64_t va)
{
	paddr_t pa;
	unsigned prot;
	return arch_query(&e->as, va_make(va), &pa, &prot) == E_OK ? pa_raw(pa) / PAGE_SIZE
								  : ~0ULL;
}
