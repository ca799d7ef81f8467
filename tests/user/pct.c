/*
 * Protected control transfer between two environments on one core. arg 0
 * (client): creates a second environment running this same program as the
 * server (arg 1), makes an endpoint in it (same binary, so the entry and
 * stack addresses are known), and calls it.
 */
#include <exo/test.h>
#include <libos/libos.h>

#include "gpr.h"

#define OP_ADD 1
#define OP_BUSY 2   /* a[1]: an endpoint of the blocked client: must be E_BUSY */
#define OP_EXIT 3   /* end inside the call: the caller gets E_STALE */
#define OP_NESTED 4 /* call a[1] (the client's own endpoint): E_BUSY expected */

static uint8_t server_stack[8192] __attribute__((aligned(16)));
static uint64_t server_prog, my_core;
static int64_t server, ep;

void pct_server(uint64_t badge, const uint64_t a[6], uint64_t r[6])
{
	switch (a[0]) {
	case OP_ADD:
		r[0] = 0;
		r[1] = a[1] + a[2] + a[3] + a[4] + a[5];
		r[2] = badge;
		r[3] = (uint64_t)sys_core_id();
		r[4] = 0x44;
		r[5] = 0x55;
		break;
	case OP_BUSY:
		r[0] = (uint64_t)pct_call(a[1], (uint64_t[6]){ OP_ADD }, NULL);
		break;
	case OP_EXIT:
		sys_exit(3);
	default:
		r[0] = (uint64_t)E_INVAL;
	}
}

TEST(pct, call_and_reply)
{
	uint64_t r[6] = { 0 };
	EXPECT_EQ(t, pct_call((uint64_t)ep, (uint64_t[6]){ OP_ADD, 1, 2, 3, 4, 5 }, r), 0);
	EXPECT_EQ(t, r[0], 0);
	EXPECT_EQ(t, r[1], 15);
	EXPECT_EQ(t, r[2], 0); /* no badge on the root */
	EXPECT_EQ(t, r[3], my_core);
	EXPECT_EQ(t, r[4] + r[5], 0x99);
	int64_t badged = sys_cap_mint((uint64_t)ep, CAP_R_WRITE | CAP_R_GRANT, 0xbadd);
	ASSERT(t, badged >= 0);
	EXPECT_EQ(t, pct_call((uint64_t)badged, (uint64_t[6]){ OP_ADD }, r), 0);
	EXPECT_EQ(t, r[2], 0xbadd);
	for (int i = 0; i < 100; i++)
		ASSERT_EQ(t, pct_call((uint64_t)ep, (uint64_t[6]){ OP_ADD, (uint64_t)i }, r), 0);
	EXPECT_EQ(t, r[1], 99);
	EXPECT_EQ(t, sys_cap_delete((uint64_t)badged), 0);
}

TEST(pct, bad_inputs)
{
	uint64_t r[6];
	EXPECT_EQ(t, pct_call(CAP_SLOTS, (uint64_t[6]){ 0 }, r), E_BADSLOT);
	int64_t f = sys_frame_alloc(FRAME_ANY);
	EXPECT_EQ(t, pct_call((uint64_t)f, (uint64_t[6]){ 0 }, r), E_TYPE);
	EXPECT_EQ(t, sys_frame_free((uint64_t)f), 0);
	int64_t nocall = sys_cap_mint((uint64_t)ep, CAP_R_READ, 0);
	EXPECT_EQ(t, pct_call((uint64_t)nocall, (uint64_t[6]){ OP_ADD }, r), E_PERM);
	EXPECT_EQ(t, sys_cap_delete((uint64_t)nocall), 0);
	EXPECT_EQ(t, pct_reply(r), E_NOENT); /* not serving a call */
	EXPECT_EQ(t, sys_call6(SYS_EP_CREATE, ENV_SELF, 0xffffffff80000000ULL, (uint64_t)server_stack, 8192, 0, 0), E_FAULT);
	EXPECT_EQ(t, sys_call6(SYS_EP_CREATE, ENV_SELF, USER_BASE, (uint64_t)server_stack + 8, 8192, 0, 0), E_ALIGN);
	/* An endpoint of an environment that has not started: E_AGAIN. */
	int64_t idle = sys_env_create(my_core);
	int64_t iep = pct_ep_create((uint64_t)idle, server_stack, sizeof(server_stack));
	ASSERT(t, idle >= 0 && iep >= 0);
	EXPECT_EQ(t, pct_call((uint64_t)iep, (uint64_t[6]){ OP_ADD }, r), E_AGAIN);
	EXPECT_EQ(t, sys_cap_delete((uint64_t)iep), 0);
	EXPECT_EQ(t, pct_call((uint64_t)iep, (uint64_t[6]){ OP_ADD }, r), E_BADSLOT);
	/* On another core: a clear error (cross-core is for the channels). */
	int64_t far = sys_env_create(my_core + 1);
	if (far >= 0) {
		int64_t fep = pct_ep_create((uint64_t)far, server_stack, sizeof(server_stack));
		EXPECT(t, fep >= 0);
		EXPECT_EQ(t, sys_env_start((uint64_t)far, server_prog, 1), 0);
		EXPECT_EQ(t, pct_call((uint64_t)fep, (uint64_t[6]){ OP_ADD }, r), E_INVAL);
		EXPECT_EQ(t, sys_cap_delete((uint64_t)fep), 0);
		EXPECT_EQ(t, sys_cap_delete((uint64_t)far), 0); /* destroys it where it runs */
	}
	EXPECT_EQ(t, sys_cap_delete((uint64_t)idle), 0);
	EXPECT_EQ(t, sys_debug_check(), 0);
}

/* Run call nr with arguments a[0..5] (a[5] in r12 too) and a pattern in every other register. */
static void gpr_call(uint64_t nr, const uint64_t a[6], struct gpr *in, struct gpr *out)
{
	*in = (struct gpr){ .rax = nr,
			    .rbx = 0xb0b0b0b0b0b0b0b0,
			    .rcx = 0xc0c0c0c0c0c0c0c0,
			    .rdx = a[2],
			    .rsi = a[1],
			    .rdi = a[0],
			    .rbp = 0xbebebebebebebebe,
			    .r8 = a[4],
			    .r9 = a[5],
			    .r10 = a[3],
			    .r11 = 0x1111111111111111,
			    .r12 = 0x1212121212121212,
			    .r13 = 0x1313131313131313,
			    .r14 = 0x1414141414141414,
			    .r15 = 0x1515151515151515 };
	gpr_syscall(in, out);
}

/*
 * What the ABI promises after a call: every register but rax, rcx and r11
 * as it was (args: also the argument registers and r12; a PCT call
 * replaces those), rcx the return address, r11 the flags. So no register
 * can carry anything of the kernel's.
 */
static void expect_kept(struct test_ctx *t, const struct gpr *in, const struct gpr *out, bool args)
{
	EXPECT_EQ(t, out->rbx, in->rbx);
	EXPECT_EQ(t, out->rbp, in->rbp);
	EXPECT_EQ(t, out->rdi, in->rdi);
	EXPECT_EQ(t, out->r13, in->r13);
	EXPECT_EQ(t, out->r14, in->r14);
	EXPECT_EQ(t, out->r15, in->r15);
	EXPECT_EQ(t, out->rcx, (uint64_t)gpr_syscall_ret);
	EXPECT_EQ(t, out->r11 & ~0x10000ULL, out->rflags & ~0x10000ULL); /* RF aside */
	if (args) {
		EXPECT_EQ(t, out->rsi, in->rsi);
		EXPECT_EQ(t, out->rdx, in->rdx);
		EXPECT_EQ(t, out->r10, in->r10);
		EXPECT_EQ(t, out->r8, in->r8);
		EXPECT_EQ(t, out->r9, in->r9);
		EXPECT_EQ(t, out->r12, in->r12);
	}
}

/* A call that returns to its caller: every register kept, rax the result. */
static void expect_call(struct test_ctx *t, uint64_t nr, const uint64_t a[6], int64_t ret)
{
	struct gpr in, out;
	gpr_call(nr, a, &in, &out);
	EXPECT_EQ(t, (int64_t)out.rax, ret);
	expect_kept(t, &in, &out, true);
}

TEST(abi, registers_kept_across_every_call_kind)
{
	const uint64_t junk = 0xdeadbeefcafe0000;
	/* The entry's fast path (syscall_fast_set), results and errors. */
	expect_call(t, SYS_CORE_ID,
		    (uint64_t[6]){ junk, junk + 1, junk + 2, junk + 3, junk + 4, junk + 5 },
		    (int64_t)my_core);
	expect_call(t, SYS_TIME, (uint64_t[6]){ 0xffffffff80100000ULL }, E_FAULT);
	static struct cap_info ci;
	expect_call(t, SYS_CAP_INSPECT, (uint64_t[6]){ 999, (uint64_t)&ci }, E_BADSLOT);
	expect_call(t, SYS_NOTIFY_TAKE, (uint64_t[6]){ 0 }, 0);
	expect_call(t, SYS_DEBUG_CHECK, (uint64_t[6]){ 0 }, 0);
	expect_call(t, SYS_CONSOLE_WRITE, (uint64_t[6]){ (uint64_t) "abi\n", 4 }, 4);
	expect_call(t, SYS_FRAME_FREE, (uint64_t[6]){ 999 }, E_BADSLOT);
	/* Unknown numbers: below 64 (a clear bit in the set) and past it, both the slow path. */
	expect_call(t, SYS_COUNT, (uint64_t[6]){ 0 }, E_NOTSUP);
	expect_call(t, 63, (uint64_t[6]){ 0 }, E_NOTSUP);
	expect_call(t, 1000, (uint64_t[6]){ 0 }, E_NOTSUP);
	/* The slow path: errors, yields that run the server. */
	expect_call(t, SYS_YIELD_TO, (uint64_t[6]){ 999 }, E_BADSLOT);
	expect_call(t, SYS_PCT_CALL, (uint64_t[6]){ 999 }, E_BADSLOT);
	expect_call(t, SYS_PCT_REPLY, (uint64_t[6]){ 0 }, E_NOENT);
	struct gpr in, out;
	gpr_call(SYS_BLOCK_WAIT, (uint64_t[6]){ junk, junk }, &in, &out);
	EXPECT(t,
	       (int64_t)out.rax == E_INVAL || (int64_t)out.rax == E_NOTSUP); /* E_NOTSUP: no disk */
	expect_kept(t, &in, &out, true);
	expect_call(t, SYS_YIELD, (uint64_t[6]){ junk, junk }, 0);
	expect_call(t, SYS_YIELD_TO, (uint64_t[6]){ (uint64_t)server }, 0);
	gpr_call(SYS_FRAME_ALLOC, (uint64_t[6]){ FRAME_ANY, 0, junk }, &in, &out);
	ASSERT(t, (int64_t)out.rax >= 0);
	expect_kept(t, &in, &out, true);
	expect_call(t, SYS_FRAME_FREE, (uint64_t[6]){ out.rax }, 0);
	/* With FRAME_WAIT it takes the slow path (it may wait); without, the fast one (above). */
	gpr_call(SYS_FRAME_ALLOC, (uint64_t[6]){ FRAME_ANY, FRAME_WAIT, junk }, &in, &out);
	ASSERT(t, (int64_t)out.rax >= 0);
	expect_kept(t, &in, &out, true);
	expect_call(t, SYS_FRAME_FREE, (uint64_t[6]){ out.rax }, 0);
	/* A PCT call: the server's reply in the argument registers, the rest kept. */
	gpr_call(SYS_PCT_CALL, (uint64_t[6]){ (uint64_t)ep, OP_ADD, 1, 2, 3, 4 }, &in, &out);
	EXPECT_EQ(t, out.rax, 0);
	expect_kept(t, &in, &out, false);
	EXPECT_EQ(t, out.rsi, 0);
	EXPECT_EQ(t, out.rdx, 1 + 2 + 3 + 4 + in.r12);
	EXPECT_EQ(t, out.r10, 0);
	EXPECT_EQ(t, out.r8, my_core);
	EXPECT_EQ(t, out.r9 + out.r12, 0x99);
	/*
	 * Fast calls while slices end: some end inside a call, whose context is
	 * then completed and saved (user.S .Lfast_leave) and the server runs.
	 */
	struct sys_time t0, t1;
	EXPECT_EQ(t, sys_time(&t0), 0);
	unsigned bad = 0;
	for (unsigned i = 0; i < 20000; i++) {
		gpr_call(SYS_CORE_ID, (uint64_t[6]){ i, i + 1, i + 2, i + 3, i + 4, i + 5 }, &in,
			 &out);
		bad += out.rax != my_core || out.rbx != in.rbx || out.rbp != in.rbp ||
		       out.rdi != in.rdi || out.rsi != in.rsi || out.rdx != in.rdx ||
		       out.r8 != in.r8 || out.r9 != in.r9 || out.r10 != in.r10 ||
		       out.r12 != in.r12 || out.r13 != in.r13 || out.r14 != in.r14 ||
		       out.r15 != in.r15 || out.rcx != (uint64_t)gpr_syscall_ret;
	}
	EXPECT_EQ(t, sys_time(&t1), 0);
	EXPECT_EQ(t, bad, 0);
	printf("abi: 20000 fast calls in %llu us\n",
	       (unsigned long long)((t1.cycles - t0.cycles) / (t0.cycles_hz / 1000000)));
}

TEST(pct, busy_and_abandoned_calls)
{
	/* Our own endpoint, given to the server: calling it while we are blocked is E_BUSY. */
	static uint8_t my_stack[4096] __attribute__((aligned(16)));
	int64_t mine = pct_ep_create(ENV_SELF, my_stack, sizeof(my_stack));
	ASSERT(t, mine >= 0);
	int64_t in_server = sys_cap_grant((uint64_t)mine, (uint64_t)server, GRANT_COPY);
	ASSERT(t, in_server >= 0);
	uint64_t r[6];
	EXPECT_EQ(t, pct_call((uint64_t)ep, (uint64_t[6]){ OP_BUSY, (uint64_t)in_server }, r), 0);
	EXPECT_EQ(t, (int64_t)r[0], E_BUSY);
	EXPECT_EQ(t, sys_cap_revoke((uint64_t)mine), 0);
	EXPECT_EQ(t, sys_cap_delete((uint64_t)mine), 0);
	/* The server ends inside the call: we resume with E_STALE. */
	EXPECT_EQ(t, pct_call((uint64_t)ep, (uint64_t[6]){ OP_EXIT }, r), E_STALE);
	EXPECT_EQ(t, sys_env_status((uint64_t)server), 3);
	EXPECT_EQ(t, pct_call((uint64_t)ep, (uint64_t[6]){ OP_ADD }, r), E_AGAIN);
	/* Its environment destroyed, the endpoint is gone: the capability is stale. */
	EXPECT_EQ(t, sys_env_destroy((uint64_t)server), 0);
	EXPECT_EQ(t, pct_call((uint64_t)ep, (uint64_t[6]){ OP_ADD }, r), E_STALE);
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg == 1) {
		for (;;)
			sys_yield(); /* the server: only calls do anything here */
	}
	server_prog = libos_self_prog;
	my_core = core;
	server = sys_env_create(core);
	if (server < 0)
		return 101;
	ep = pct_ep_create((uint64_t)server, server_stack, sizeof(server_stack));
	if (ep < 0 || sys_env_start((uint64_t)server, server_prog, 1) != 0)
		return 102;
	unsigned failed = test_run("all");
	sys_cap_delete((uint64_t)ep);
	sys_env_destroy((uint64_t)server);
	sys_cap_delete((uint64_t)server);
	return (int)failed;
}
