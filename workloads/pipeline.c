/*
 * pipeline: N stages on N cores, each a separate environment, joined by
 * channels (libos/ipc.h): this environment is the source and the sink, the
 * children stage 1..N-1 (stage i on core i mod cores). Every message goes
 * through every stage, which adds one to it. Figures: messages per second
 * through the whole pipeline, and cycles per message (at the sink).
 *
 *   tools/exo run --smp 2 -- run=pipeline stages=2 msgs=100000 ipc=batch
 */
#include <libos/args.h>
#include <libos/bench.h>
#include <libos/ipc.h>
#include <libos/libos.h>
#include <libos/policy.h>
#include <libos/sched.h>

LIBOS_PROGRAM_PARAMS({ "stages", "2", "environments in the pipeline, this one included (2..16)" },
		     { "msgs", "100000", "messages through the pipeline" });

#define STOP (~0ULL)
#define MAX_STAGES 16

static int stage(void)
{
	struct ipc_chan *in, *out;
	if (ipc_open("in", &in) || ipc_open("out", &out))
		return 10;
	struct ipc_msg m;
	for (;;) {
		int r = ipc_recv(in, &m);
		if (r)
			return 11;
		if (m.w[0] != STOP)
			m.w[1]++;
		if (ipc_send(out, &m, sizeof(m)))
			return 12;
		if (m.w[0] == STOP)
			break;
	}
	ipc_flush(out);
	/* Stay until the next stage has read everything (it closes "in" after STOP). */
	while (ipc_recv(in, &m) == E_OK)
		;
	return 0;
}

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
	if (arg == 1)
		return stage();
	unsigned n = (unsigned)libos_arg_u64("stages", 2), ncores = cores_online(core);
	uint64_t msgs = libos_arg_u64("msgs", 100000);
	if (n < 2 || n > MAX_STAGES) {
		printf("pipeline: stages=%u: 2..%u\n", n, MAX_STAGES);
		return 2;
	}
	int64_t env[MAX_STAGES];
	uint64_t where[MAX_STAGES];
	static struct ipc_words w[MAX_STAGES]; /* 1 KiB each: not on the 16 KiB stack */
	char pol[POLICY_SPEC_MAX + 8];
	ksnprintf(pol, sizeof(pol), "ipc=%s", libos_policy_current(POLICY_IPC));
	for (unsigned i = 1; i < n; i++) {
		where[i] = core + i % ncores;
		env[i] = sys_env_create(where[i]);
		if (env[i] < 0)
			return 3;
	}
	/* source -> 1 -> 2 -> ... -> n-1 -> sink (this environment again). */
	struct ipc_chan *src, *sink;
	int r = ipc_connect((uint64_t)env[1], where[1], "in", 0, &src, &w[1]);
	for (unsigned i = 1; !r && i + 1 < n; i++) {
		/* A pair's word is named for a; b needs it as "in": connect under the two names. */
		static struct ipc_words wa, wb;
		wa.len = wb.len = 0;
		r = ipc_connect_pair((uint64_t)env[i], where[i], &wa, (uint64_t)env[i + 1],
				     where[i + 1], &wb, "out", 0);
		/* b's word says "out": rename to "in" (same length + 1 fits: rebuild it). */
		char word[96];
		if (!r) {
			ksnprintf(word, sizeof(word), "ipc_chan=in:%s",
				  wb.buf + sizeof("ipc_chan=out:") - 1);
			r = ipc_words_add(&w[i], wa.buf);
		}
		if (!r)
			r = ipc_words_add(&w[i + 1], word);
	}
	if (!r)
		r = ipc_connect((uint64_t)env[n - 1], where[n - 1], "out", 0, &sink, &w[n - 1]);
	for (unsigned i = 1; !r && i < n; i++) {
		r = ipc_words_add(&w[i], pol);
		if (!r)
			r = (int)sys_env_start_args((uint64_t)env[i], libos_self_prog, 1, w[i].buf,
						    w[i].len);
	}
	if (r) {
		printf("pipeline: set-up: %s\n", err_name(r));
		for (unsigned i = 1; i < n; i++)
			(void)sys_cap_delete((uint64_t)env[i]);
		return 4;
	}
	/* Our channel to stage 1 sends; the one from stage n-1 receives: the "sink" is side 0 of it. */
	struct ipc_msg m = { 0 };
	uint64_t sent = 0, got = 0, bad = 0, t0 = libos_cycles();
	while (got < msgs) {
		bool progress = false;
		if (sent < msgs) {
			m.w[0] = sent;
			m.w[1] = 0;
			if (ipc_try_send(src, &m, sizeof(m)) == E_OK) {
				sent++;
				progress = true;
			}
		}
		struct ipc_msg in;
		while (ipc_try_recv(sink, &in) == E_OK) {
			bad += in.w[0] != got || in.w[1] != n - 1;
			got++;
			progress = true;
		}
		if (!progress) {
			/* Stuck on both sides: let the stages run (and ring them if they sleep). */
			ipc_flush(src);
			if (sent == msgs || ipc_wait_any(&sink, 1, 10000) < 0)
				(void)ipc_wait_any(&sink, 1, 10000);
		}
	}
	uint64_t dt = libos_cycles() - t0;
	m.w[0] = STOP;
	r = ipc_send(src, &m, sizeof(m));
	ipc_flush(src);
	struct ipc_msg in;
	if (!r)
		r = ipc_recv(sink, &in);
	ipc_close(sink);
	ipc_close(src);
	int status = 0;
	for (unsigned i = 1; i < n; i++) {
		int64_t st;
		while ((st = sys_env_status((uint64_t)env[i])) == E_AGAIN)
			(void)sys_yield();
		status |= st != 0;
		(void)sys_cap_delete((uint64_t)env[i]);
	}
	char extra[96];
	ksnprintf(extra, sizeof(extra), "\"stages\":%u,\"cores\":%u,\"msgs\":%llu", n,
		  MIN(n, ncores), (unsigned long long)msgs);
	libos_figure_value("ipc_pipeline_msgs_per_s", "msgs/s",
			   dt ? msgs * libos_cycles_hz() / dt : 0, extra);
	libos_figure_value("ipc_pipeline_cycles_per_msg", "cycles", msgs ? dt / msgs : 0, extra);
	if (bad || r || status)
		printf("pipeline: %llu messages wrong, stop %s, stages' status %d\n",
		       (unsigned long long)bad, err_name(r), status);
	return bad || r || status ? 1 : 0;
}
