/*
 * Notifications across cores. arg 0 (the sender): starts a copy of itself
 * (arg 1) on the next core and notifies it with 0x5a; the receiver yields
 * until it has the bits, and exits with them. The sender's exit status: 0
 * if the receiver saw exactly 0x5a, and the bad inputs were refused.
 */
#include <libos/libos.h>

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg == 1) {
		uint64_t bits = 0;
		for (unsigned i = 0; i < 20000000 && !bits; i++) {
			bits = (uint64_t)sys_call6(SYS_NOTIFY_TAKE, 0, 0, 0, 0, 0, 0);
			if (!bits)
				sys_yield();
		}
		return (int)bits;
	}
	int64_t r = sys_env_create(core + 1);
	if (r == E_INVAL)
		r = sys_env_create(core); /* one core: the same mechanism, locally */
	if (r < 0 || sys_env_start((uint64_t)r, libos_self_prog, 1) != 0)
		return 1;
	if (sys_call6(SYS_NOTIFY, (uint64_t)r, 0, 0, 0, 0, 0) != E_INVAL)
		return 2;
	if (sys_call6(SYS_NOTIFY, CAP_SLOTS, 1, 0, 0, 0, 0) != E_BADSLOT)
		return 3;
	int64_t ro = sys_cap_mint((uint64_t)r, CAP_R_READ, 0);
	if (sys_call6(SYS_NOTIFY, (uint64_t)ro, 1, 0, 0, 0, 0) != E_PERM)
		return 4;
	sys_cap_delete((uint64_t)ro);
	if (sys_call6(SYS_NOTIFY, (uint64_t)r, 0x5a, 0, 0, 0, 0) != 0)
		return 5;
	int64_t st;
	while ((st = sys_env_status((uint64_t)r)) == E_AGAIN)
		sys_yield();
	sys_cap_delete((uint64_t)r);
	return st == 0x5a ? 0 : 6;
}
