/*
 * Allocates under memory pressure (the kernel test has taken every free
 * frame): first without waiting (E_AGAIN: a revocation was started), then
 * waiting (FRAME_WAIT: it gets the frame the revocation frees). Exit 0 if
 * both went as documented.
 */
#include <libos/libos.h>

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (sys_call6(SYS_FRAME_ALLOC, FRAME_ANY, 7, 0, 0, 0, 0) != E_INVAL)
		return 3; /* unknown flags */
	int64_t r = sys_call6(SYS_FRAME_ALLOC, FRAME_ANY, 0, 0, 0, 0, 0);
	if (r != E_AGAIN) {
		printf("pressure: expected E_AGAIN, got %lld\n", (long long)r);
		return 1;
	}
	r = sys_call6(SYS_FRAME_ALLOC, FRAME_ANY, FRAME_WAIT, 0, 0, 0, 0);
	if (r < 0) {
		printf("pressure: waiting allocation failed: %lld\n", (long long)r);
		return 2;
	}
	return sys_frame_free((uint64_t)r) == 0 ? 0 : 4;
}
