/*
 * Capability churn across cores: each round allocates frames, maps some,
 * derives and grants copies into an environment on the next core (never
 * started: a pure capability holder), revokes them, frees, and destroys that
 * environment — while the same program does the same on every other core,
 * whose environments are the next core's grant targets. arg: rounds.
 * Exit status: problems seen (each call's result is checked against what
 * docs/syscalls.md says it must be).
 */
#include <libos/libos.h>

#define VA 0x58000000ULL

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	unsigned bad = 0;
	uint64_t seed = env_id * 7919 + core + 1;
	for (uint64_t round = 0; round < arg; round++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		int64_t other = sys_env_create(core + 1); /* E_INVAL on the last core: use our own */
		if (other == E_INVAL)
			other = sys_env_create(core);
		if (other < 0) {
			bad++;
			continue;
		}
		int64_t f[4];
		for (int i = 0; i < 4; i++) {
			f[i] = sys_frame_alloc(FRAME_ANY);
			if (f[i] < 0)
				bad++;
		}
		for (int i = 0; i < 4; i++) {
			if (f[i] < 0)
				continue;
			if ((seed >> i) & 1 && sys_map((uint64_t)f[i], VA + i * 4096, PROT_R | PROT_W) != 0)
				bad++;
			int64_t c = sys_cap_mint((uint64_t)f[i], CAP_R_READ | CAP_R_MAP | CAP_R_GRANT, 0);
			if (c < 0 || sys_cap_grant((uint64_t)c, (uint64_t)other, GRANT_COPY) < 0)
				bad++;
			if ((seed >> (i + 8)) & 1) {
				int64_t r;
				while ((r = sys_cap_revoke((uint64_t)f[i])) == E_AGAIN)
					;
				if (r != 0)
					bad++;
			}
		}
		/* Destroying the holder deletes what we granted it, whichever core it is on. */
		if ((seed >> 16) & 1 && sys_env_destroy((uint64_t)other) != 0)
			bad++;
		for (int i = 0; i < 4; i++) {
			if (f[i] < 0)
				continue;
			int64_t r;
			while ((r = sys_cap_revoke((uint64_t)f[i])) == E_AGAIN)
				;
			if (r != 0 || sys_frame_free((uint64_t)f[i]) != 0)
				bad++;
		}
		if (sys_cap_delete((uint64_t)other) != 0) /* destroys it, if still there */
			bad++;
		if (sys_debug_check() != 0)
			bad++;
	}
	if (bad)
		printf("churn: %u problems\n", bad);
	return (int)(bad > 255 ? 255 : bad);
}
