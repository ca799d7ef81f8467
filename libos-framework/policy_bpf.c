/*
 * A policy's downloaded part (libos/policy.h struct policy_bpf): loaded by
 * the framework when the policy is chosen, detached when it is swapped out
 * or the program ends. One part per kind at a time, its region a page of
 * this program's own at POLICY_BPF_REGION_VA + kind * 4 KiB.
 */
#include <libos/bpf.h>
#include <libos/libos.h>
#include <libos/policy.h>

static int64_t region_slot[POLICY_KINDS] = { -1, -1, -1 };

static void region_free(enum policy_kind kind)
{
	if (region_slot[kind] < 0)
		return;
	(void)sys_unmap((uint64_t)region_slot[kind]);
	(void)sys_frame_free((uint64_t)region_slot[kind]);
	region_slot[kind] = -1;
}

int64_t policy_bpf_load(const struct policy_info *p, void **region_va)
{
	*region_va = NULL;
	const struct policy_bpf *b = p->bpf;
	if (!b)
		return E_NOENT;
	uint64_t region = BPF_NO_REGION;
	if (b->fill) {
		uint64_t va = POLICY_BPF_REGION_VA + (uint64_t)p->kind * 4096;
		int64_t f = sys_frame_alloc(FRAME_ANY);
		if (f < 0 || sys_map((uint64_t)f, va, PROT_R | PROT_W)) {
			printf(
			    "libos: %s policy %s: no page for its downloaded part's region (%lld): "
			    "running without it\n",
			    policy_kind_name(p->kind), p->name, (long long)f);
			if (f >= 0)
				(void)sys_frame_free((uint64_t)f);
			return f < 0 ? f : E_FAULT;
		}
		region_slot[p->kind] = f;
		b->fill((void *)va);
		region = (uint64_t)f;
		*region_va = (void *)va;
	}
	struct bpf_load_verdict v = { 0, 0 };
	int64_t cap = libos_bpf_load(b->hook, b->image, *b->size, region, 0, &v);
	if (cap < 0) {
		printf(
		    "libos: %s policy %s: its downloaded part was refused (%s): verifier rule %u "
		    "at instruction %u: running without it\n",
		    policy_kind_name(p->kind), p->name, err_name((int)cap), (unsigned)v.rule,
		    (unsigned)v.insn);
		region_free(p->kind);
		*region_va = NULL;
	}
	return cap;
}

void policy_bpf_unload(enum policy_kind kind, int64_t cap)
{
	if (cap >= 0)
		(void)sys_cap_delete((uint64_t)cap);
	region_free(kind);
}
