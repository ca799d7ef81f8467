/*
 * kvstore: a server environment holding a hash table on this core, and
 * client environments on the other cores (on this one too when it is the
 * only one, where ipc=pct makes each call one protected control transfer).
 * Each client runs `ops` operations, a seeded mix of get and put
 * (get_pct) over `keys` keys with a skew (skew_pct of the operations go
 * to the hottest tenth of the keys), each one ipc_call, timed. Figures
:
 *
 *   kv_latency     per operation, one line per client (median, min, max,
 *                  and "p99"), printed by the client;
 *   kv_ops_per_s   all clients' operations over the longest client's time,
 *   kv_latency_p99_worst_client   the largest of the clients' p99s,
 *                  printed by the server from what the clients report.
 *
 *   tools/exo run --smp 2 -- run=kvstore clients=2 ops=5000 ipc=poll
 */
#include <exo/stats.h>
#include <libos/args.h>
#include <libos/bench.h>
#include <libos/ipc.h>
#include <libos/libos.h>
#include <libos/policy.h>
#include <libos/sched.h>

LIBOS_PROGRAM_PARAMS({ "clients", "0", "client environments (0: one per other core, 1 if none)" },
		     { "ops", "5000", "operations per client (at most 10000)" },
		     { "get_pct", "90", "percent of operations that are gets" },
		     { "keys", "4096", "distinct keys (at most 4096)" },
		     { "skew_pct", "80", "percent of operations on the hottest tenth of the keys" },
		     { "seed", "1", "seed of the clients' operation streams" });

#define MAX_CLIENTS 31
#define MAX_OPS 10000
#define TABLE                                                                                      \
	8192 /* slots, a power of two; at most half full (every image page costs a capability slot) */

enum { OP_GET = 1, OP_PUT, OP_DONE };

/* ------------------------------------------------------------------ */
/* The server: open addressing, linear probing; key 0 marks a free slot. */

static struct {
	uint64_t key, val;
} table[TABLE];
static uint64_t stored, done_clients, nclients;
static struct report {
	uint64_t ops, cycles, p50, p99, min, max;
} reports[MAX_CLIENTS];

static uint64_t *lookup(uint64_t key, bool insert)
{
	for (uint64_t i = ((key * 0x9E3779B97F4A7C15ULL) >> 40) & (TABLE - 1);;
	     i = (i + 1) & (TABLE - 1)) {
		if (table[i].key == key)
			return &table[i].val;
		if (!table[i].key) {
			if (!insert || stored >= TABLE / 2)
				return NULL;
			table[i].key = key;
			stored++;
			return &table[i].val;
		}
	}
}

static int serve(struct ipc_chan *ch, const struct ipc_msg *req, struct ipc_msg *rep)
{
	uint64_t key = req->w[1] + 1; /* never 0 */
	rep->w[0] = 0;
	switch (req->w[0]) {
	case OP_GET: {
		uint64_t *v = lookup(key, false);
		rep->w[0] = v != NULL;
		rep->w[1] = v ? *v : 0;
		return IPC_REPLY;
	}
	case OP_PUT: {
		uint64_t *v = lookup(key, true);
		if (v)
			*v = req->w[2];
		rep->w[0] = v != NULL;
		return IPC_REPLY;
	}
	case OP_DONE:
		if (req->w[1] < MAX_CLIENTS)
			reports[req->w[1]] = (struct report){ req->w[2], req->w[3], req->w[4],
							      req->w[5], req->w[6], req->w[7] };
		return ++done_clients == nclients ? IPC_REPLY_STOP : IPC_REPLY;
	}
	rep->w[0] = ~0ULL;
	return IPC_REPLY;
}

/* ------------------------------------------------------------------ */
/* A client. */

static uint64_t lat[MAX_OPS];

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static int client(uint64_t id)
{
	struct ipc_chan *ch;
	if (ipc_open("kv", &ch))
		return 10;
	uint64_t ops = MIN(libos_arg_u64("ops", 5000), MAX_OPS);
	uint64_t keys = MAX(1, MIN(libos_arg_u64("keys", 4096), TABLE / 2));
	uint64_t get_pct = libos_arg_u64("get_pct", 90), skew = libos_arg_u64("skew_pct", 80);
	uint64_t r = (libos_arg_u64("seed", 1) + id) * 0x9E3779B97F4A7C15ULL | 1, bad = 0;
	struct ipc_msg req = { 0 }, rep;
	uint64_t t0 = libos_cycles();
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t x = rnd(&r), hot = MAX(1, keys / 10);
		uint64_t key = x % 100 < skew ? (x >> 8) % hot : (x >> 8) % keys;
		bool get = (x >> 40) % 100 < get_pct;
		req.w[0] = get ? OP_GET : OP_PUT;
		req.w[1] = key;
		req.w[2] =
		    key * 3 + 1; /* every put of a key writes the same value: gets can check */
		uint64_t s = libos_cycles();
		int e = ipc_call(ch, &req, 24, &rep);
		lat[i] = libos_cycles() - s;
		if (e)
			return 11;
		bad += get && rep.w[0] && rep.w[1] != key * 3 + 1;
	}
	uint64_t cycles = libos_cycles() - t0;
	struct stats st = stats_u64(lat, ops); /* sorted now */
	char extra[96];
	ksnprintf(extra, sizeof(extra),
		  "\"client\":%llu,\"p99\":%llu,\"get_pct\":%llu,\"skew_pct\":%llu",
		  (unsigned long long)id, (unsigned long long)lat[ops * 99 / 100],
		  (unsigned long long)get_pct, (unsigned long long)skew);
	libos_figure("kv_latency", "cycles", lat, ops, extra);
	req = (struct ipc_msg){ .w = { OP_DONE, id, ops, cycles, st.median, lat[ops * 99 / 100],
				       st.min, st.max } };
	int e = ipc_call(ch, &req, sizeof(req), &rep);
	ipc_close(ch);
	return e ? 12 : bad ? 13 : 0;
}

/* ------------------------------------------------------------------ */

static unsigned cores_online(uint64_t me)
{
	unsigned n = 1;
	for (uint64_t c = me + 1; c < me + 64; c++) {
		int64_t e = sys_env_create(c);
		if (e < 0)
			break;
		(void)sys_cap_delete((uint64_t)e);
		n++;
	}
	return n;
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg >= 1)
		return client(arg - 1);
	unsigned ncores = cores_online(core);
	nclients = libos_arg_u64("clients", 0);
	if (!nclients)
		nclients = ncores > 1 ? ncores - 1 : 1;
	if (nclients > MAX_CLIENTS) {
		printf("kvstore: clients=%llu: at most %u\n", (unsigned long long)nclients,
		       MAX_CLIENTS);
		return 2;
	}
	static struct ipc_words w; /* 1 KiB: not on the stack */
	struct ipc_chan *ch[MAX_CLIENTS];
	int64_t env[MAX_CLIENTS] = { 0 };
	char pol[POLICY_SPEC_MAX + 8];
	ksnprintf(pol, sizeof(pol), "ipc=%s", libos_policy_current(POLICY_IPC));
	unsigned same = 0;
	for (unsigned i = 0; i < nclients; i++) {
		uint64_t c = ncores > 1 ? core + 1 + i % (ncores - 1) : core;
		same += c == core;
		w.len = 0;
		env[i] = sys_env_create(c);
		int r = env[i] < 0
			    ? (int)env[i]
			    : ipc_connect((uint64_t)env[i], c, "kv", IPC_PCT_SELF, &ch[i], &w);
		/* The client takes the workload's words too. */
		static const char *const fwd[] = { "ops=", "get_pct=", "keys=", "skew_pct=",
						   "seed=" };
		for (unsigned k = 0; !r && k < libos_argc(); k++)
			for (unsigned f = 0; f < 5; f++) {
				size_t n = 0;
				while (fwd[f][n])
					n++;
				if (__builtin_memcmp(libos_argv(k), fwd[f], n) == 0)
					r = ipc_words_add(&w, libos_argv(k));
			}
		if (!r)
			r = ipc_words_add(&w, pol);
		if (!r)
			r = (int)sys_env_start_args((uint64_t)env[i], libos_self_prog, 1 + i, w.buf,
						    w.len);
		if (r) {
			printf("kvstore: client %u: %s\n", i, err_name(r));
			for (unsigned k = 0; k <= i; k++)
				if (env[k] >= 0)
					(void)sys_cap_delete((uint64_t)env[k]);
			return 3;
		}
	}
	int r = ipc_serve(ch, (unsigned)nclients, serve);
	int status = 0;
	for (unsigned i = 0; i < nclients; i++) {
		int64_t st;
		while ((st = sys_env_status((uint64_t)env[i])) == E_AGAIN)
			(void)sys_yield();
		if (st)
			printf("kvstore: client %u ended with %lld\n", i, (long long)st);
		status |= st != 0;
		(void)sys_cap_delete((uint64_t)env[i]);
		ipc_close(ch[i]);
	}
	if (r || status || done_clients != nclients)
		return 1;
	uint64_t ops = 0, longest = 0, p99 = 0, mn = ~0ULL, mx = 0, p50s[MAX_CLIENTS];
	for (unsigned i = 0; i < nclients; i++) {
		ops += reports[i].ops;
		longest = MAX(longest, reports[i].cycles);
		p99 = MAX(p99, reports[i].p99);
		mn = MIN(mn, reports[i].min);
		mx = MAX(mx, reports[i].max);
		p50s[i] = reports[i].p50;
	}
	char extra[160];
	ksnprintf(extra, sizeof(extra),
		  "\"clients\":%llu,\"same_core_clients\":%u,\"cores\":%u,\"get_pct\":%llu,"
		  "\"skew_pct\":%llu",
		  (unsigned long long)nclients, same, ncores,
		  (unsigned long long)libos_arg_u64("get_pct", 90),
		  (unsigned long long)libos_arg_u64("skew_pct", 80));
	libos_figure_value("kv_ops_per_s", "ops/s", longest ? ops * libos_cycles_hz() / longest : 0,
			   extra);
	libos_figure_value("kv_latency_p99_worst_client", "cycles", p99, extra);
	(void)mn;
	(void)mx;
	(void)p50s;
	return 0;
}
