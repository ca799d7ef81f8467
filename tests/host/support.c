/* Shared host-test helpers (support.h). */
#include "support.h"

#include <arch/mm.h>
#include <chan.h>
#include <exo/boot.h>
#include <exo/bpf_hooks.h>
#include <exo/disk.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hooks.h>
#include <exo/kprintf.h>
#include <exo/pot.h>
#include <exo/syscall.h>
#include <percpu.h>
#include <arch/phys.h>
#include <arch/sim.h>
#include <string.h>

struct pot_entry pot_table[MEM_FRAMES];

void pot_setup(void)
{
	static const struct boot_mem mem[] = { { .base = 0, .len = MEM_BYTES, .usable = true } };
	pot_init(pot_table, MEM_FRAMES, mem, 1, 0, KERNEL_FRAMES * PAGE_SIZE);
}

void machine_setup(void)
{
	core_hooks_register();
	pot_setup();
	disk_init(); /* a fresh, blank disk (the host machine has one: test_main.c) */
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
	core_hooks_register();
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
	for (uint32_t s = 0; s < CAP_SLOTS; s++) {
		const struct cap *c = cap_slot(e, s);
		n += c && __atomic_load_n(&c->type, __ATOMIC_ACQUIRE) != OBJ_NONE;
	}
	return n;
}

uint64_t mapped(struct env *e, uint64_t va)
{
	paddr_t pa;
	unsigned prot;
	return arch_query(&e->as, va_make(va), &pa, &prot) == E_OK ? pa_raw(pa) / PAGE_SIZE
								  : ~0ULL;
}

struct cap_info info(struct env *e, uint32_t slot)
{
	struct cap_info i;
	memset(&i, 0xee, sizeof(i));
	if (cap_inspect(e, slot, &i) != E_OK)
		i.type = OBJ_NONE;
	return i;
}

uint64_t obj_of(struct env *e, int64_t slot)
{
	return info(e, (uint32_t)slot).object;
}

uint8_t *frame_mem(uint64_t f)
{
	return arch_phys_to_virt(pa_make(f * PAGE_SIZE));
}

unsigned prot_at(struct env *e, uint64_t va)
{
	paddr_t pa;
	unsigned prot = 0;
	return arch_query(&e->as, va_make(va), &pa, &prot) == E_OK ? prot : 0;
}

uint64_t tlb_flushes(unsigned core)
{
	struct sim_core_state s;
	sim_core_state(core, &s);
	return s.tlb_flushes;
}

uint8_t *user_page(struct test_ctx *t, struct env *e, uint64_t va, unsigned prot)
{
	int64_t s = SYS(e, SYS_FRAME_ALLOC, FRAME_ANY);
	if (!EXPECT(t, s >= 0) || !EXPECT_EQ(t, SYS(e, SYS_MAP, s, va, prot), 0))
		return NULL;
	return frame_mem(info(e, (uint32_t)s).object);
}

/* The pages a snapshot looks at: the first 16 of user space, the syscall tests' own, the last. */
static const uint64_t snap_vas[SNAP_VAS] = {
	VA(0),	VA(1),	VA(2),	VA(3),	 VA(4),
	VA(5),	VA(6),	VA(7),	VA(8),	 VA(9),
	VA(10), VA(11), VA(12), VA(13),	 VA(14),
	VA(15), OUT_VA, RO_VA,	HOLE_VA, USER_END - PAGE_SIZE,
};

struct snap snap_before;
static struct snap snap_now;

void snap_take(struct snap *s, struct env *const *envs, unsigned n)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->pot, pot_table, sizeof(s->pot));
	s->nenv = n;
	for (unsigned i = 0; i < n; i++) {
		struct env *e = envs[i];
		if (!e)
			continue;
		s->env[i].state = e->state;
		s->env[i].exit_status = e->exit_status;
		s->env[i].gen = e->gen;
		s->env[i].frames_owned = e->frames_owned;
		s->env[i].mappings = e->mappings;
		for (unsigned v = 0; v < SNAP_VAS; v++) {
			s->env[i].va[v] = mapped(e, snap_vas[v]);
			s->env[i].prot[v] = prot_at(e, snap_vas[v]);
		}
		for (uint32_t p = 0; p < CAP_PAGES; p++) {
			const struct cap *c = cap_slot(e, p * CAP_PAGE_SLOTS);
			if (c)
				memcpy(&s->env[i].caps[(size_t)p * CAP_PAGE_SLOTS], c, PAGE_SIZE);
			s->env[i].used[p] = e->caps.used[p];
			s->env[i].frame[p] = c ? e->caps.frame[p] : 0;
		}
		for (unsigned w = 0; w < CAP_PAGES / 64; w++) {
			s->env[i].nonfull[w] = e->caps.nonfull[w];
			s->env[i].fresh[w] = e->caps.fresh[w];
		}
		s->env[i].npages = e->caps.npages;
	}
	if (n && envs[0] && mapped(envs[0], OUT_VA) != ~0ULL)
		memcpy(s->out, frame_mem(mapped(envs[0], OUT_VA)), PAGE_SIZE);
	s->free = frame_free_count();
	s->disk = disk_digest();
	s->bpf = bpf_hooks_digest();
	s->envs = env_count();
}

bool snap_same(const struct snap *s, struct env *const *envs)
{
	snap_take(&snap_now, envs, s->nenv);
	for (uint64_t f = 0; f < MEM_FRAMES; f++)
		if (memcmp(&s->pot[f], &snap_now.pot[f], sizeof(s->pot[f])) != 0) {
			kprintf(
			    "snap: frame %llu changed: word 0x%llx -> 0x%llx, mapped_on 0x%llx -> "
			    "0x%llx\n",
			    (unsigned long long)f, (unsigned long long)s->pot[f].word,
			    (unsigned long long)snap_now.pot[f].word,
			    (unsigned long long)s->pot[f].mapped_on,
			    (unsigned long long)snap_now.pot[f].mapped_on);
			return false;
		}
	for (unsigned i = 0; i < s->nenv; i++)
		if (memcmp(&s->env[i], &snap_now.env[i], sizeof(s->env[i])) != 0) {
			kprintf("snap: env %u changed\n", envs[i] ? envs[i]->id : ~0u);
			return false;
		}
	if (memcmp(s->out, snap_now.out, PAGE_SIZE) != 0) {
		kprintf("snap: user memory of the out page changed\n");
		return false;
	}
	if (s->disk != snap_now.disk) {
		kprintf("snap: the disk's ranges or requests changed\n");
		return false;
	}
	if (s->bpf != snap_now.bpf) {
		kprintf("snap: a downloaded program was loaded, freed or attached\n");
		return false;
	}
	if (s->free != snap_now.free || s->envs != snap_now.envs) {
		kprintf("snap: counts changed: free %llu -> %llu, envs %u -> %u\n",
			(unsigned long long)s->free, (unsigned long long)snap_now.free, s->envs,
			snap_now.envs);
		return false;
	}
	return true;
}

void teardown(struct test_ctx *t, struct env **envs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (envs[i] && env_alive(envs[i]))
			EXPECT_EQ(t, env_destroy(envs[i]), E_OK);
	EXPECT_EQ(t, env_count(), 0);
	EXPECT_EQ(t, frame_free_count(), FREE_FRAMES);
	EXPECT_EQ(t, pot_count(POT_OWNED), 0);
	EXPECT_EQ(t, pot_count(POT_KERNEL), KERNEL_FRAMES + RING_FRAMES);
	INV(t);
}
