/*
 * Protected control transfer, the user half: calling an endpoint, and
 * serving calls (the program defines pct_server; calls enter through
 * libos_pct_entry on the endpoint's stack, and the reply ends them).
 */
#include <libos/libos.h>
#include <libos/threads_impl.h>

void libos_pct_entry(void);
extern uint8_t libos_fx_pct[512];
void libos_fx_restore(const uint8_t *fx);
noreturn_fn void libos_pct_dispatch(uint64_t badge, uint64_t a0, uint64_t a1, uint64_t a2,
				    uint64_t a3, uint64_t a4, uint64_t a5);

void libos_pct_dispatch(uint64_t badge, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
			uint64_t a4, uint64_t a5)
{
	const uint64_t a[6] = { a0, a1, a2, a3, a4, a5 };
	uint64_t r[6] = { (uint64_t)E_NOTSUP, 0, 0, 0, 0, 0 };
	if (!libos_ipc_pct(badge, a, r) && pct_server)
		pct_server(badge, a, r);
	libos_fx_restore(libos_fx_pct); /* the environment's own state, as the call found it */
	pct_reply(r);
	sys_exit(127); /* a reply from outside a call: cannot happen here */
}

int64_t pct_call(uint64_t ep, const uint64_t a[6], uint64_t r[6])
{
	register uint64_t r10 __asm__("r10") = a[2];
	register uint64_t r8 __asm__("r8") = a[3];
	register uint64_t r9 __asm__("r9") = a[4];
	register uint64_t r12 __asm__("r12") = a[5];
	uint64_t rsi = a[0], rdx = a[1];
	int64_t ret;
	__asm__ volatile("syscall"
			 : "=a"(ret), "+S"(rsi), "+d"(rdx), "+r"(r10), "+r"(r8), "+r"(r9), "+r"(r12)
			 : "a"((uint64_t)SYS_PCT_CALL), "D"(ep)
			 : "rcx", "r11", "memory");
	if (ret == 0 && r) {
		r[0] = rsi;
		r[1] = rdx;
		r[2] = r10;
		r[3] = r8;
		r[4] = r9;
		r[5] = r12;
	}
	return ret;
}

int64_t pct_reply(const uint64_t r[6])
{
	return sys_call6(SYS_PCT_REPLY, r[0], r[1], r[2], r[3], r[4], r[5]);
}

int64_t pct_ep_create(uint64_t env, void *stack, uint64_t size)
{
	return sys_call6(SYS_EP_CREATE, env, (uint64_t)libos_pct_entry, (uint64_t)stack, size, 0, 0);
}
