/*
 * Protected control transfer between two environments on one core. arg 0
 * (client): creates a second environment running this same program as the
 * server (arg 1), makes an endpoint in it (same binary, so the entry and
 * stack addresses are known), and calls it.
 */
#include <exo/test.h>
#include <libos/libos.h>

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
