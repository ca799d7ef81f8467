/*
 * A libOS that holds frames while the kernel revokes them. arg: how it
 * behaves when asked —
 *   0 cooperative: frees what is asked, newest first;
 *   1 never answers: its handler returns without freeing (the abort path);
 *   2 no handler at all (taken at once);
 *   3 hostile: frees a frame it does not own, then the same frame twice,
 *     then what was asked.
 * It holds NFRAMES frames mapped at BASE, then yields until it has been
 * asked (or told) and a little more. Exit status: frames it still holds
 * (root capabilities not stale) + 16 * (it was told of repossession)
 * + 32 * (a bad return was accepted: must never happen).
 */
#include <libos/libos.h>

#define NFRAMES 4
#define BASE 0x70000000ULL

static int64_t slots[NFRAMES];
static volatile unsigned asked, told, bad_accepted;
static unsigned mode;

static void on_revoke(struct upcall_revoke *ur)
{
	if (ur->kind == REVOKE_TAKEN) {
		told = 1;
		return;
	}
	asked = 1;
	if (mode == 1)
		return; /* never answers */
	if (mode == 3) {
		/* Not ours: a cap we minted is not the root. Then a double free. */
		int64_t child = sys_cap_mint((uint64_t)slots[0], CAP_R_READ, 0);
		if (sys_frame_free((uint64_t)child) != E_PERM)
			bad_accepted = 1;
		sys_cap_delete((uint64_t)child);
	}
	uint64_t want = ur->count;
	for (int i = NFRAMES - 1; i >= 0 && want; i--) {
		if (slots[i] < 0)
			continue;
		if (sys_frame_free((uint64_t)slots[i]) == 0) {
			if (mode == 3 && sys_frame_free((uint64_t)slots[i]) != E_BADSLOT)
				bad_accepted = 1;
			slots[i] = -1;
			want--;
		}
	}
}

/* Has any of our frames been taken (its root capability gone stale)? */
static bool robbed(void)
{
	for (int i = 0; i < NFRAMES; i++)
		if (slots[i] >= 0 && sys_map((uint64_t)slots[i], BASE + i * 4096, PROT_R) == E_STALE)
			return true;
	return false;
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	mode = (unsigned)arg;
	for (int i = 0; i < NFRAMES; i++) {
		slots[i] = sys_frame_alloc(FRAME_ANY);
		if (slots[i] < 0 || sys_map((uint64_t)slots[i], BASE + i * 4096, PROT_R | PROT_W) != 0)
			return 100;
		*(volatile uint64_t *)(BASE + i * 4096) = 7;
	}
	if (mode != 2)
		libos_set_revoke_handler(on_revoke);
	/* Wait to be asked (told, for the one that never answers; robbed, for the one without a handler). */
	/* Bounded, but far beyond any real wait (under -icount the asker may be slow to come). */
	for (unsigned i = 0; i < 20000000; i++) {
		sys_yield();
		if ((mode == 0 || mode == 3) && asked)
			break;
		if (mode == 1 && told)
			break;
		if (mode == 2 && robbed())
			break;
	}
	for (unsigned i = 0; i < 20; i++)
		sys_yield();
	unsigned held = 0;
	for (int i = 0; i < NFRAMES; i++) {
		struct cap_info ci;
		if (slots[i] >= 0 && sys_cap_inspect((uint64_t)slots[i], &ci) == 0 &&
		    sys_map((uint64_t)slots[i], BASE + i * 4096, PROT_R) != E_STALE)
			held++; /* (the map fails with E_BUSY: still bound — still ours) */
	}
	return (int)(held + 16 * told + 32 * bad_accepted);
}
