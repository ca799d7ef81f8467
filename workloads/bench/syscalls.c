/*
 * set=syscalls: the syscall surface on one core; set=scaling: frame
 * allocate+map+unmap+free alone, run on N cores at once.
 */
#include "bench.h"

#define VA 0x30000000ULL
#define RAW_NR SYSCALL_RAW_NR

static void alloc_map_unmap_free(void)
{
	int64_t s = sys_frame_alloc(FRAME_ANY);
	CHECK(s);
	CHECK(sys_map((uint64_t)s, VA, PROT_R | PROT_W));
	CHECK(sys_unmap((uint64_t)s));
	CHECK(sys_frame_free((uint64_t)s));
}

void set_syscalls(const struct bench_run *r)
{
	MEASURE(r, "syscall_sysret_raw", sys_call6(RAW_NR, 0, 0, 0, 0, 0, 0));
	MEASURE(r, "null_syscall", sys_core_id());
	int64_t f = sys_frame_alloc(FRAME_ANY);
	CHECK(f);
	MEASURE(r, "cap_mint_delete", {
		int64_t c = sys_cap_mint((uint64_t)f, CAP_R_READ, 0);
		CHECK(c);
		CHECK(sys_cap_delete((uint64_t)c));
	});
	CHECK(sys_frame_free((uint64_t)f));
	MEASURE(r, "frame_alloc_map_unmap_free", alloc_map_unmap_free());
	env_create_destroy(r, "env_create_destroy", r->core);
}

void set_scaling(const struct bench_run *r)
{
	MEASURE(r, "frame_alloc_map_unmap_free", alloc_map_unmap_free());
}
