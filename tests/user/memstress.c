/*
 * Allocate, map, write, check, unmap and free frames in a loop, with some
 * minting and revoking, while the same program runs on every other core.
 * arg: iterations. Exits with the number of problems seen.
 */
#include <libos/libos.h>

#define BASE 0x20000000ULL
#define WINDOW 16

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	unsigned bad = 0;
	for (uint64_t i = 0; i < arg; i++) {
		uint64_t va = BASE + (i % WINDOW) * PAGE_SIZE;
		int64_t s = sys_frame_alloc(FRAME_ANY);
		if (s < 0) {
			printf("memstress: alloc: %s\n", err_name((int)s));
			bad++;
			continue;
		}
		int64_t child = sys_cap_mint((uint64_t)s, CAP_R_READ | CAP_R_MAP, 0);
		if (sys_map((uint64_t)s, va, PROT_R | PROT_W) != 0)
			bad++;
		volatile uint64_t *p = (volatile uint64_t *)va;
		uint64_t tag = (core << 48) ^ (env_id << 32) ^ i;
		if (p[7] != 0)
			bad++; /* frames come zeroed: anything else leaked from another owner */
		p[7] = tag;
		if (p[7] != tag)
			bad++;
		if (child < 0 || sys_cap_revoke((uint64_t)s) != 0)
			bad++;
		if (sys_unmap((uint64_t)s) != 0 || sys_frame_free((uint64_t)s) != 0)
			bad++;
	}
	if (sys_debug_check() != 0)
		bad++;
	printf("memstress: env %llu on core %llu: %llu rounds, %u problems\n",
	       (unsigned long long)env_id, (unsigned long long)core, (unsigned long long)arg, bad);
	return (int)MIN(bad, 255u);
}
