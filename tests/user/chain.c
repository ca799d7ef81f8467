/*
 * Starts a copy of itself with arg - 1 on its own core and exits, holding
 * the only capability to it: arg levels of environments, each owning the
 * next. Destroying the first must destroy them all, iteratively.
 */
#include <libos/libos.h>

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg == 0)
		return 0;
	int64_t child = sys_env_create(core);
	if (child < 0 || sys_env_start((uint64_t)child, libos_self_prog, arg - 1) != 0)
		return 1;
	return 0;
}
