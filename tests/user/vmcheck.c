/*
 * The VM manager in a real environment (tests/guest/manifest.cfg, the
 * pager-* sections). arg (run_arg=) picks the check:
 *   0 integrity: random reads and writes over 4x the budget with the
 *     in-image swap stand-in, every page read back; a pager swap half way
 *     (pager=fifo -> lru) keeps every page. Exit 0 if all is as written.
 *   3 the same, swapping to the disk (--disk).
 *   1 a policy that returns a page it does not hold: the VM ends the
 *     environment (VM_EXIT_POLICY) with a line naming the policy.
 *   2 a policy that faults in its victims hook: ends with 128 + 14 and a
 *     line naming the policy and the hook.
 *   4 a policy with a downloaded part (test_part, tests/user/vmpart.bpf.c):
 *     chosen by a swap, its part is loaded (an OBJ_BPF capability); a swap
 *     to fifo detaches it (the capability is gone); chosen again, loaded
 *     again; a swap to clockbpf swaps the parts. Exit 0 if all hold, else the number of the check that failed.
 * (Frames taken by force: workloads/balloon.c, the pager-balloon-* sections.)
 */
#include <libos/bpf.h>
#include <libos/libos.h>
#include <libos/pager_impl.h>
#include <libos/vm.h>

#define BASE 0x600000000ULL
#define PAGES 32
#define BUDGET 8

static uint8_t store[PAGES][4096] __attribute__((aligned(4096)));
static uint64_t want[PAGES];

/* A pager that returns a page that is not the VM's. */
static struct vm_page fake;
static int liar_init(const uint64_t *params, unsigned budget)
{
	return 0;
}
static void liar_added(struct vm_page *p, uint64_t now) {}
static unsigned liar_victims(struct vm_page **out, unsigned want_, uint64_t now)
{
	out[0] = &fake;
	return 1;
}
static void liar_evicted(struct vm_page *p, uint64_t now) {}
static const struct pager_ops test_liar = {
	.info = { .kind = POLICY_PAGER,
		  .name = "test_liar",
		  .description = "vmcheck: returns a victim it does not hold" },
	.init = liar_init,
	.added = liar_added,
	.victims = liar_victims,
	.evicted = liar_evicted,
};
POLICY_REGISTER(test_liar);

/* A pager that faults in its victims hook. */
static unsigned crash_victims(struct vm_page **out, unsigned want_, uint64_t now)
{
	out[0] = *(struct vm_page *volatile *)8; /* a null dereference */
	return 1;
}
static const struct pager_ops test_crasher = {
	.info = { .kind = POLICY_PAGER,
		  .name = "test_crasher",
		  .description = "vmcheck: faults in its victims hook" },
	.init = liar_init,
	.added = liar_added,
	.victims = crash_victims,
	.evicted = liar_evicted,
};
POLICY_REGISTER(test_crasher);

/* A FIFO pager with a downloaded part: the framework loads it when test_part is chosen. */
BPF_OBJECT(vmpart);
static void part_fill(void *region)
{
	((uint64_t *)region)[0] = 0; /* the handler's answer */
}
static const struct policy_bpf test_part_bpf = {
	.hook = BPF_HOOK_REVOKE,
	.image = bpf_obj_vmpart,
	.size = &bpf_obj_vmpart_size,
	.fill = part_fill,
};
static struct vm_list part_fifo;
static int part_init(const uint64_t *params, unsigned budget)
{
	part_fifo = (struct vm_list){ 0 };
	return 0;
}
static void part_added(struct vm_page *p, uint64_t now)
{
	vm_list_push_tail(&part_fifo, p);
}
static unsigned part_victims(struct vm_page **out, unsigned want_, uint64_t now)
{
	out[0] = part_fifo.head;
	return part_fifo.head ? 1 : 0;
}
static void part_evicted(struct vm_page *p, uint64_t now)
{
	vm_list_remove(&part_fifo, p);
}
static const struct pager_ops test_part = {
	.info = { .kind = POLICY_PAGER,
		  .name = "test_part",
		  .description = "vmcheck: FIFO with a downloaded part (a revocation handler)",
		  .bpf = &test_part_bpf },
	.init = part_init,
	.added = part_added,
	.victims = part_victims,
	.evicted = part_evicted,
};
POLICY_REGISTER(test_part);

/* Is slot an OBJ_BPF capability? */
static bool is_bpf(int64_t slot)
{
	struct cap_info ci = { 0 };
	return slot >= 0 && sys_cap_inspect((uint64_t)slot, &ci) == 0 && ci.type == OBJ_BPF;
}

static int part(void)
{
	if (vm_pager_part() != -1) /* fifo: no part */
		return 9;
	if (libos_policy_swap(POLICY_PAGER, "test_part"))
		return 16;
	int64_t p = vm_pager_part();
	if (!is_bpf(p))
		return 10;
	for (unsigned pg = 0; pg < PAGES; pg++)
		*(volatile uint64_t *)(BASE + pg * 4096ULL) = want[pg] = pg + 1;
	if (libos_policy_swap(POLICY_PAGER, "fifo"))
		return 11;
	if (vm_pager_part() != -1 || is_bpf(p))
		return 12; /* swapped out: detached */
	if (libos_policy_swap(POLICY_PAGER, "test_part"))
		return 13;
	int64_t q = vm_pager_part();
	if (!is_bpf(q))
		return 14; /* chosen again: loaded again */
	for (unsigned pg = 0; pg < PAGES; pg++)
		if (*(volatile uint64_t *)(BASE + pg * 4096ULL) != want[pg])
			return 15;
	/* clockbpf (policies/pager/clockbpf.c): test_part's part goes, clockbpf's comes. */
	if (libos_policy_swap(POLICY_PAGER, "clockbpf") || !is_bpf(vm_pager_part()))
		return 17; /* (test_part's slot may hold clockbpf's part now) */
	for (unsigned pg = 0; pg < PAGES; pg++)
		if (*(volatile uint64_t *)(BASE + pg * 4096ULL) != want[pg])
			return 18;
	printf("vmcheck: downloaded part loaded at slot %lld, detached by a swap, loaded again at "
	       "slot %lld under %s\n",
	       (long long)p, (long long)q, vm_pager_current());
	return 0;
}

static uint64_t rnd(uint64_t *s)
{
	return pager_rand(s);
}

static int integrity(void)
{
	uint64_t seed = 11;
	for (unsigned i = 0; i < 1500; i++) {
		unsigned pg = (unsigned)(rnd(&seed) % PAGES);
		volatile uint64_t *p =
		    (volatile uint64_t *)(BASE + pg * 4096ULL + (uint64_t)(pg % 64) * 8);
		if (rnd(&seed) % 3 == 0)
			*p = want[pg] = rnd(&seed) | 1;
		else if (*p != want[pg]) {
			printf("vmcheck: page %u read 0x%llx, wrote 0x%llx\n", pg,
			       (unsigned long long)*p, (unsigned long long)want[pg]);
			return 1;
		}
		if (i == 700 && libos_policy_swap(POLICY_PAGER, "lru")) {
			printf("vmcheck: the pager swap failed\n");
			return 1;
		}
		if (vm_resident() > BUDGET) {
			printf("vmcheck: %u resident over a budget of %u\n", vm_resident(), BUDGET);
			return 1;
		}
	}
	for (unsigned pg = 0; pg < PAGES; pg++)
		if (*(volatile uint64_t *)(BASE + pg * 4096ULL + (uint64_t)(pg % 64) * 8) !=
		    want[pg])
			return 1;
	struct vm_stats st;
	vm_stats(&st);
	printf("vmcheck: integrity ok under %s (swap %s): faults %llu evictions %llu swap r/w "
	       "%llu/%llu\n",
	       vm_pager_current(), vm_backing_name(), (unsigned long long)st.faults,
	       (unsigned long long)st.evictions, (unsigned long long)st.swap_reads,
	       (unsigned long long)st.swap_writes);
	return st.swap_writes && st.swap_reads && st.swaps == 1 ? 0 : 1;
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	struct vm_config cfg = {
		.budget = BUDGET,
		.backing = arg == 3 ? VM_BACKING_DISK : VM_BACKING_MEM,
		.max_pages = PAGES,
		.mem_store = store,
	};
	int err = vm_start(&cfg);
	if (!err)
		err = vm_region_add(BASE, PAGES);
	if (err) {
		printf("vmcheck: vm: %s\n", err_name(err));
		return 2;
	}
	switch (arg) {
	case 0:
	case 3:
		return integrity();
	case 1:
	case 2:
		if (libos_policy_swap(POLICY_PAGER, arg == 1 ? "test_liar" : "test_crasher"))
			return 3;
		for (unsigned pg = 0; pg <= BUDGET; pg++)
			*(volatile uint64_t *)(BASE + pg * 4096ULL) = pg;
		return 0; /* must not get here */
	case 4:
		return part();
	}
	return 2;
}
