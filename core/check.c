/*
 * The invariant checker (docs/design.md "The page-ownership table"), run by
 * tests after operations and by SYS_DEBUG_CHECK. It checks what the kernel
 * can see in one pass:
 *   - every capability table's derivation links and contents (cap.c);
 *   - a free frame is owned by nobody and on no core's mapped-on set;
 *   - a frame owned or charged to an environment belongs to a live one, and
 *     each environment's frames_owned equals what the table charges to it;
 *   - each environment's mapping count equals its bound capabilities, so no
 *     page is mapped without a live capability behind it;
 *   - the exported disk's ranges and requests (disk.c).
 */
#include <arch/phys.h>
#include <exo/bpf_hooks.h>
#include <exo/cap.h>
#include <exo/disk.h>
#include <exo/env.h>
#include <exo/kprintf.h>
#include <exo/pot.h>
#include <exo/syscall.h>

/* Frames the table charges to e, against its count; its mappings against its bound caps. */
static unsigned check_env_counts(struct env *e, uint64_t charged)
{
	unsigned bad = 0;
	if (e->canary != ENV_CANARY) {
		kprintf("check: env %u: canary 0x%x\n", e->id, e->canary);
		bad++;
	}
	if (charged != e->frames_owned) {
		kprintf("check: env %u: %llu frames charged in the table, %llu counted\n", e->id,
			(unsigned long long)charged, (unsigned long long)e->frames_owned);
		bad++;
	}
	uint64_t bound = 0;
	for (uint32_t p = 0; p < CAP_PAGES; p++) {
		const struct cap *page = cap_slot(e, p * CAP_PAGE_SLOTS);
		for (uint32_t i = 0; page && i < CAP_PAGE_SLOTS; i++) /* no page: all empty */
			bound += page[i].type == OBJ_FRAME && page[i].bound_va;
	}
	if (bound != e->mappings) {
		kprintf("check: env %u: %llu mappings, %llu bound capabilities\n", e->id,
			(unsigned long long)e->mappings, (unsigned long long)bound);
		bad++;
	}
	return bad;
}

/* A frame of a pre-zeroed pool: mapped nowhere, and (once zeroed) zero. */
static unsigned check_pooled(uint64_t f, struct pot_view v)
{
	const uint64_t *w = arch_phys_to_virt(pa_make(f * PAGE_SIZE));
	uint64_t or = 0;
	if (v.owner == POT_POOL)
		for (unsigned i = 0; i < PAGE_SIZE / sizeof(*w); i++)
			or |= w[i];
	if (!v.mapped_on && ! or)
		return 0;
	kprintf("check: pooled frame %llu mapped on 0x%llx, not zero (0x%llx)\n",
		(unsigned long long)f, (unsigned long long)v.mapped_on, (unsigned long long) or);
	return 1;
}

unsigned invariant_check_env(struct env *e)
{
	uint64_t charged = 0;
	for (uint64_t f = 0; f < pot_nframes(); f++) {
		struct pot_view v = pot_get(f);
		charged += v.state != POT_FREE && v.owner == e->id;
	}
	return cap_check_env(e) + check_env_counts(e, charged);
}

unsigned invariant_check(void)
{
	static uint64_t charged[MAX_ENVS];
	unsigned bad = cap_check_all() + disk_check() + bpf_hooks_check();
	for (unsigned i = 0; i < MAX_ENVS; i++)
		charged[i] = 0;

	for (uint64_t f = 0; f < pot_nframes(); f++) {
		struct pot_view v = pot_get(f);
		if (v.state == POT_FREE) {
			if (v.owner != POT_NO_OWNER || v.mapped_on) {
				kprintf("check: free frame %llu has owner %u, mapped on 0x%llx\n",
					(unsigned long long)f, v.owner, (unsigned long long)v.mapped_on);
				bad++;
			}
			continue;
		}
		if (v.owner == POT_NO_OWNER)
			continue; /* the kernel's own */
		if (v.state == POT_KERNEL && (v.owner == POT_POOL || v.owner == POT_ZEROING)) {
			bad += check_pooled(f, v); /* free, in a pre-zeroed pool */
			continue;
		}
		struct env *e = env_lookup(v.owner);
		if (!e || (!env_alive(e) && !env_dying(e))) {
			kprintf("check: frame %llu charged to env %u, which is not alive\n",
				(unsigned long long)f, v.owner);
			bad++;
			continue;
		}
		charged[v.owner]++;
	}

	for (unsigned i = 0; i < MAX_ENVS; i++) {
		struct env *e = env_lookup(i);
		/* A destroy in steps leaves each step consistent: its counts hold too. */
		if (env_alive(e) || env_dying(e))
			bad += check_env_counts(e, charged[i]);
	}
	return bad;
}
