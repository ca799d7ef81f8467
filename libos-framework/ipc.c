/*
 * IPC at user level (libos/ipc.h): channels between environments, set up by
 * capabilities through a parent, one API over rings and PCT, and the ipc
 * policy that decides how to wait (libos/ipc_impl.h, policies/ipc/).
 *
 * A channel is a page (ipc_ring.c lays it out) mapped in both environments
 * at a slot of a region of this environment's address space. Everything
 * the peer writes there is checked before use; if the page itself goes
 * (the frame's capability revoked), the access faults, libos_ipc_fault
 * maps a scratch page in its place so the access completes, and the
 * channel's sticky error becomes E_STALE: the honest side gets an error,
 * never a crash. A peer that ends is seen through its environment's status
 * while waiting; one that closes, through its closed mark.
 *
 * Waiting (wait_on) asks the policy each round whether to spin or block;
 * blocking marks this end asleep on each channel, looks once more, and
 * blocks the calling thread (thread_wait_until) until a ring has something,
 * an error shows, or the deadline passes. Senders ring a sleeping peer with
 * SYS_NOTIFY. (The kernel runs an environment that yields whether or not
 * bits came, so a blocked waiter also finds messages from a peer that has
 * no capability to notify it: a child's parent.)
 */
#include <libos/args.h>
#include <libos/ipc_impl.h>
#include <libos/libos.h>
#include <libos/sched.h>
#include <libos/threads_impl.h>

#define IPC_REGION 0x0000300000000000ULL /* channel pages, one slot each */
#define NONE (~0ULL)			 /* no capability */
#define PCT_BADGE 0x80000000ULL		 /* badge bit of the endpoints ipc makes */
#define PCT_STACK_SIZE 16384
#define NOTIFY_RETRIES 1000	    /* SYS_NOTIFY's E_AGAIN: the kernel channel is full */
#define LIVE_CHECK_CYCLES 200000ULL /* how often a waiter asks whether the peer lives */
#define SPINS_PER_THREAD_YIELD 64   /* a spinning thread lets the others run this often */
#define FAST_SPINS 64		    /* ring-only looks between full checks while spinning */
#define STOPPED (-1000) /* wait_on: ipc_serve was told to stop (not an index, not an error) */

struct ipc_chan {
	bool used;
	int err;	  /* sticky: E_STALE (page revoked), E_RANGE (corrupt ring) */
	bool peer_gone;	  /* the peer's environment ended */
	unsigned side;	  /* 0: this side allocated the frame (or is a pair's a) */
	bool own_frame;	  /* frame is the root capability: kept until exit (the peer may hold it) */
	uint64_t frame;	  /* frame capability, mapped at page */
	uint64_t peer;	  /* env capability of the peer (WRITE): notify, status, yield_to */
	uint64_t ep;	  /* endpoint of the peer's PCT server (badged), or NONE */
	uint64_t ep_root; /* an endpoint this side made (to delete at close), or NONE */
	uint64_t peer_core; /* where the peer runs */
	bool same_core;
	uint64_t scratch; /* a frame mapped where the revoked page was, or NONE */
	struct ipc_page *page;
	struct ipc_tx tx;
	struct ipc_rx rx;
	ipc_handler handler; /* serving: answers PCT calls */
	char name[IPC_NAME_MAX];
};

static struct ipc_chan chans[IPC_CHANS_MAX];
static uint8_t pct_stack[PCT_STACK_SIZE] __attribute__((aligned(16)));
static const struct ipc_ops *pol;
static struct policy_choice pol_choice;
static struct ipc_stats stats;
static bool fault_on;
static volatile bool serve_stop; /* a PCT-served handler said IPC_REPLY_STOP */
static volatile bool in_handler; /* ipc_serve is inside the handler: PCT calls are E_BUSY */
static bool held_back; /* a sleeping peer was not rung yet (batching): flush before waiting */

/* ------------------------------------------------------------------ */
/* The policy. */

static int policy_load(const struct policy_choice *c)
{
	const struct ipc_ops *ops = (const struct ipc_ops *)c->info;
	int r = ops->init(c->values);
	if (r)
		return r;
	if (pol && pol->fini)
		pol->fini();
	pol = ops;
	pol_choice = *c;
	libos_choice[POLICY_IPC] = *c;
	return E_OK;
}

static const struct ipc_ops *policy_slow(void)
{
	struct policy_choice c = libos_choice[POLICY_IPC];
	char err[200];
	if ((!c.info || policy_load(&c)) &&
	    (policy_parse(POLICY_IPC, IPC_DEFAULT, &c, err, sizeof(err)) || policy_load(&c))) {
		printf("libos: ipc: no usable ipc policy (%s)\n", err);
		sys_exit(2);
	}
	return pol;
}

/* The running policy (loaded at the first use). */
static inline const struct ipc_ops *policy(void)
{
	return pol ? pol : policy_slow();
}

static void ring_peer(struct ipc_chan *ch, unsigned bit)
{
	for (unsigned i = 0; i < NOTIFY_RETRIES; i++) {
		int64_t r = sys_call6(SYS_NOTIFY, ch->peer, 1ULL << bit, 0, 0, 0, 0);
		if (r == E_AGAIN) {
			(void)sys_yield();
			continue;
		}
		if (r == 0)
			stats.notifies++;
		else
			ch->peer_gone = true; /* E_STALE: it was destroyed */
		return;
	}
}

/* Ring the peer for whatever this side sent and has not rung for (batching). */
void ipc_flush(struct ipc_chan *ch)
{
	uint64_t seq;
	unsigned bit;
	if (!ch || !ch->used || ch->err || ch->peer == NONE || !ch->tx.unnotified)
		return;
	if (ipc_tx_peer_asleep(&ch->tx, &seq, &bit)) {
		ring_peer(ch, bit);
		ipc_tx_rung(&ch->tx, seq);
	}
}

static void flush_all(void)
{
	if (!held_back)
		return;
	held_back = false;
	for (unsigned i = 0; i < IPC_CHANS_MAX; i++)
		if (chans[i].used && chans[i].tx.unnotified)
			ipc_flush(&chans[i]);
}

int libos_ipc_swap(const char *spec)
{
	struct policy_choice c;
	char err[300];
	int r = policy_parse(POLICY_IPC, spec, &c, err, sizeof(err));
	if (r) {
		printf("libos: ipc: %s\n", err);
		return r;
	}
	(void)policy();
	/* Nothing a policy holds is lost: ring every peer for held-back messages first. */
	held_back = true;
	flush_all();
	r = policy_load(&c);
	if (r) {
		printf("libos: ipc: policy %s refused to start (%s); keeping %s\n", c.info->name,
		       err_name(r), pol->info.name);
		return r;
	}
	stats.swaps++;
	return E_OK;
}

const char *libos_ipc_current(void)
{
	static char spec[POLICY_SPEC_MAX];
	(void)policy();
	policy_format(&pol_choice, spec, sizeof(spec));
	return spec;
}

/* ------------------------------------------------------------------ */
/* Channel slots, the page region, and a page that went away. */

static uint64_t slot_va(const struct ipc_chan *ch)
{
	return IPC_REGION + (uint64_t)(ch - chans) * IPC_PAGE_SIZE;
}

static bool name_ok(const char *name)
{
	size_t n = 0;
	while (name && name[n] && n < IPC_NAME_MAX)
		n++;
	if (!name || !n || n >= IPC_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] == ':' || name[i] == '=' || name[i] == ' ')
			return false;
	return true;
}

/* A free channel slot named name (checked by the caller), or NULL. */
static struct ipc_chan *chan_alloc(const char *name)
{
	size_t n = 0;
	while (name[n])
		n++;
	for (unsigned i = 0; i < IPC_CHANS_MAX; i++) {
		struct ipc_chan *ch = &chans[i];
		if (ch->used)
			continue;
		*ch = (struct ipc_chan){ .used = true,
					 .frame = NONE,
					 .peer = NONE,
					 .ep = NONE,
					 .ep_root = NONE,
					 .scratch = NONE };
		__builtin_memcpy(ch->name, name, n);
		ch->page = (struct ipc_page *)slot_va(ch);
		return ch;
	}
	return NULL;
}

/* Map the frame, and the two ends of side `side`. The page is checked by the caller. */
static int chan_map(struct ipc_chan *ch, uint64_t frame, unsigned side)
{
	if (!fault_on) {
		int r = libos_fault_upcall_on();
		if (r)
			return r;
		fault_on = true;
	}
	int64_t r = sys_map(frame, slot_va(ch), PROT_R | PROT_W);
	if (r)
		return (int)r;
	ch->frame = frame;
	ch->side = side;
	return E_OK;
}

bool libos_ipc_active(void)
{
	return fault_on;
}

bool libos_ipc_fault(struct upcall_fault *uf)
{
	if (uf->vector != 14 || uf->addr < IPC_REGION ||
	    uf->addr >= IPC_REGION + (uint64_t)IPC_CHANS_MAX * IPC_PAGE_SIZE)
		return false;
	struct ipc_chan *ch = &chans[(uf->addr - IPC_REGION) / IPC_PAGE_SIZE];
	if (!ch->used || ch->scratch != NONE)
		return false;
	/* The frame was revoked under us: a scratch page lets the access end; the channel is dead. */
	__atomic_store_n(&ch->err, E_STALE, __ATOMIC_RELEASE);
	int64_t s = sys_frame_alloc(FRAME_ANY);
	if (s < 0)
		return false;
	if (sys_map((uint64_t)s, slot_va(ch), PROT_R | PROT_W)) {
		(void)sys_frame_free((uint64_t)s);
		return false;
	}
	ch->scratch = (uint64_t)s;
	printf("libos: ipc: channel %s: its frame was revoked (E_STALE)\n", ch->name);
	return true;
}

static int chan_err(const struct ipc_chan *ch)
{
	return __atomic_load_n(&ch->err, __ATOMIC_ACQUIRE);
}

static int fail(struct ipc_chan *ch, int err)
{
	if (!chan_err(ch))
		__atomic_store_n(&ch->err, err, __ATOMIC_RELEASE);
	if (err == E_RANGE)
		printf("libos: ipc: channel %s: the peer wrote an index out of range (E_RANGE)\n",
		       ch->name);
	return chan_err(ch);
}

static void check_peer(struct ipc_chan *ch)
{
	if (ch->peer == NONE || ch->peer_gone)
		return;
	if (sys_env_status(ch->peer) != E_AGAIN)
		ch->peer_gone = true; /* exited (a status), destroyed (E_STALE), or no cap */
}

/* ------------------------------------------------------------------ */
/* Set-up. */

int ipc_words_add(struct ipc_words *w, const char *word)
{
	size_t n = 0;
	while (word[n])
		n++;
	if (w->len + n + 1 > sizeof(w->buf))
		return E_RANGE;
	__builtin_memcpy(w->buf + w->len, word, n + 1);
	w->len += n + 1;
	return E_OK;
}

static int add_word(struct ipc_words *w, const char *name, uint64_t frame, unsigned side,
		    uint64_t peer, uint64_t ep, uint64_t core)
{
	char word[96], p[24], e[24];
	ksnprintf(p, sizeof(p), peer == NONE ? "-" : "%llu", (unsigned long long)peer);
	ksnprintf(e, sizeof(e), ep == NONE ? "-" : "%llu", (unsigned long long)ep);
	ksnprintf(word, sizeof(word), "ipc_chan=%s:%llu:%u:%s:%s:%llu", name,
		  (unsigned long long)frame, side, p, e, (unsigned long long)core);
	return ipc_words_add(w, word);
}

/* Give env a capability derived from slot with rights (and badge); its slot there, or an error. */
static int64_t give(uint64_t slot, uint64_t rights, uint64_t badge, uint64_t env)
{
	int64_t m = sys_cap_mint(slot, rights, badge);
	if (m < 0)
		return m;
	int64_t g = sys_cap_grant((uint64_t)m, env, GRANT_MOVE);
	if (g < 0)
		(void)sys_cap_delete((uint64_t)m);
	return g;
}

int ipc_connect(uint64_t env, uint64_t env_core, const char *name, unsigned flags,
		struct ipc_chan **out, struct ipc_words *child)
{
	if (!name_ok(name))
		return E_INVAL;
	struct ipc_chan *ch = chan_alloc(name);
	if (!ch)
		return E_NOMEM;
	int64_t f = sys_frame_alloc(FRAME_ANY), g = -1, ep = NONE;
	int r = f < 0 ? (int)f : chan_map(ch, (uint64_t)f, 0);
	if (r)
		goto fail;
	ch->own_frame = true;
	ipc_page_init(ch->page);
	ipc_ends_init(ch->page, 0, (unsigned)(ch - chans), &ch->tx, &ch->rx);
	g = give((uint64_t)f, CAP_R_READ | CAP_R_WRITE | CAP_R_MAP | CAP_R_GRANT, 0, env);
	int64_t peer = g < 0 ? g : sys_cap_mint(env, CAP_R_WRITE, 0);
	if ((r = (int)MIN(peer, 0)))
		goto fail;
	ch->peer = (uint64_t)peer;
	ch->peer_core = env_core;
	ch->same_core = env_core == (uint64_t)sys_core_id();
	if (flags & IPC_PCT_CHILD) {
		int64_t root = pct_ep_create(env, pct_stack, sizeof(pct_stack));
		int64_t m =
		    root < 0 ? root
			     : sys_cap_mint((uint64_t)root, CAP_R_WRITE, PCT_BADGE | (uint64_t)g);
		if ((r = (int)MIN(m, 0)))
			goto fail;
		ch->ep_root = (uint64_t)root;
		ch->ep = (uint64_t)m;
	}
	if (flags & IPC_PCT_SELF) {
		int64_t root = pct_ep_create(ENV_SELF, pct_stack, sizeof(pct_stack));
		if (root >= 0 && ch->ep_root == NONE)
			ch->ep_root = (uint64_t)root;
		ep = root < 0 ? root
			      : give((uint64_t)root, CAP_R_WRITE | CAP_R_GRANT,
				     PCT_BADGE | (uint64_t)f, env);
		if ((r = (int)MIN(ep, 0)))
			goto fail;
	}
	r = add_word(child, ch->name, (uint64_t)g, 1, NONE, (uint64_t)ep, (uint64_t)sys_core_id());
	if (r)
		goto fail;
	*out = ch;
	return E_OK;
fail:
	/* What the child was given dies with the frame's root (revoked below) or stays unused. */
	ch->frame = NONE;
	if (f >= 0) {
		(void)sys_unmap((uint64_t)f);
		while (sys_cap_revoke((uint64_t)f) == E_AGAIN)
			;
		(void)sys_frame_free((uint64_t)f);
	}
	ipc_close(ch);
	return r;
}

int ipc_connect_pair(uint64_t a, uint64_t core_a, struct ipc_words *wa, uint64_t b, uint64_t core_b,
		     struct ipc_words *wb, const char *name, unsigned flags)
{
	/* The page is laid out through a slot of ours, then unmapped: only a and b map it. */
	if (!name_ok(name))
		return E_INVAL;
	struct ipc_chan *tmp = chan_alloc(name);
	if (!tmp)
		return E_NOMEM;
	int64_t f = sys_frame_alloc(FRAME_ANY);
	int r = f < 0 ? (int)f : chan_map(tmp, (uint64_t)f, 0);
	if (r) {
		if (f >= 0)
			(void)sys_frame_free((uint64_t)f);
		tmp->used = false;
		return r;
	}
	ipc_page_init(tmp->page);
	(void)sys_unmap((uint64_t)f);
	tmp->used = false;
	const uint64_t rw = CAP_R_READ | CAP_R_WRITE | CAP_R_MAP | CAP_R_GRANT;
	int64_t ga = give((uint64_t)f, rw, 0, a);
	int64_t gb = ga < 0 ? ga : give((uint64_t)f, rw, 0, b);
	int64_t pa =
	    gb < 0 ? gb : give(b, CAP_R_WRITE | CAP_R_GRANT, 0, a); /* a's capability to b */
	int64_t pb = pa < 0 ? pa : give(a, CAP_R_WRITE | CAP_R_GRANT, 0, b);
	int64_t ep = NONE;
	if (pb >= 0 && (flags & IPC_PCT_CHILD)) {
		int64_t root = pct_ep_create(b, pct_stack, sizeof(pct_stack));
		ep = root < 0 ? root
			      : give((uint64_t)root, CAP_R_WRITE | CAP_R_GRANT,
				     PCT_BADGE | (uint64_t)gb, a);
	}
	if (pb < 0 || ((flags & IPC_PCT_CHILD) && ep < 0)) {
		while (sys_cap_revoke((uint64_t)f) == E_AGAIN)
			;
		(void)sys_frame_free((uint64_t)f);
		return (int)(pb < 0 ? pb : ep);
	}
	r = add_word(wa, name, (uint64_t)ga, 0, (uint64_t)pa, (uint64_t)ep, core_b);
	return r ? r : add_word(wb, name, (uint64_t)gb, 1, (uint64_t)pb, NONE, core_a);
}

/* Parse "N" or "-" (NONE) at *s up to sep; advances past sep. */
static bool field(const char **s, char sep, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;
	if (*p == '-') {
		v = NONE;
		p++;
	} else {
		if (*p < '0' || *p > '9')
			return false;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (v > 1000000000ULL)
				return false;
			v = v * 10 + (uint64_t)(*p - '0');
		}
	}
	if (*p != sep)
		return false;
	*s = sep ? p + 1 : p;
	*out = v;
	return true;
}

int ipc_open(const char *name, struct ipc_chan **out)
{
	size_t n = 0;
	while (name && name[n])
		n++;
	const char *w = NULL;
	for (unsigned i = libos_argc(); i-- > 0;) {
		const char *a = libos_argv(i);
		if (__builtin_memcmp(a, "ipc_chan=", 9) == 0 &&
		    __builtin_memcmp(a + 9, name, n) == 0 && a[9 + n] == ':') {
			w = a + 10 + n;
			break;
		}
	}
	if (!name_ok(name))
		return E_INVAL;
	if (!w)
		return E_NOENT;
	uint64_t frame, side, peer, ep, core;
	if (!field(&w, ':', &frame) || !field(&w, ':', &side) || !field(&w, ':', &peer) ||
	    !field(&w, ':', &ep) || !field(&w, '\0', &core) || frame == NONE || side > 1)
		return E_INVAL;
	/* The frame must be one we hold, with the rights a channel needs. */
	struct cap_info ci = { 0 };
	int64_t r = sys_cap_inspect(frame, &ci);
	if (r)
		return (int)r;
	if (ci.type != OBJ_FRAME)
		return E_TYPE;
	if ((ci.rights & (CAP_R_READ | CAP_R_WRITE | CAP_R_MAP)) !=
	    (CAP_R_READ | CAP_R_WRITE | CAP_R_MAP))
		return E_PERM;
	struct ipc_chan *ch = chan_alloc(name);
	if (!ch)
		return E_NOMEM;
	if ((r = chan_map(ch, frame, (unsigned)side))) {
		ch->used = false;
		return (int)r;
	}
	if (!ipc_page_ok(ch->page) || chan_err(ch)) {
		(void)sys_unmap(frame);
		ch->used = false;
		return E_RANGE;
	}
	ipc_ends_init(ch->page, (unsigned)side, (unsigned)(ch - chans), &ch->tx, &ch->rx);
	ch->peer = peer;
	ch->ep = ep;
	ch->peer_core = core;
	ch->same_core = core == (uint64_t)sys_core_id();
	*out = ch;
	return E_OK;
}

void ipc_close(struct ipc_chan *ch)
{
	if (!ch || ch < chans || ch >= chans + IPC_CHANS_MAX || !ch->used)
		return;
	if (ch->frame != NONE) {
		/* Said even on a corrupt ring (a revoked page takes it on the scratch page). */
		ipc_ends_close(&ch->tx, &ch->rx);
		if (!chan_err(ch)) {
			uint64_t seq;
			unsigned bit;
			if (ch->peer != NONE && (ipc_tx_peer_asleep(&ch->tx, &seq, &bit) ||
						 ipc_rx_peer_asleep(&ch->rx, &seq, &bit)))
				ring_peer(ch, bit);
		}
		/* Our root stays while the peer may still read what we sent (exit frees it); once
		 * the peer closed or ended, it goes now: a capability slot is worth having back. */
		check_peer(ch);
		bool peer_done = ch->peer_gone || chan_err(ch) == E_STALE ||
				 (ipc_rx_peer_closed(&ch->rx) && ipc_tx_peer_closed(&ch->tx));
		(void)sys_unmap(ch->frame);
		if (!ch->own_frame) {
			(void)sys_cap_delete(ch->frame);
		} else if (peer_done) {
			while (sys_cap_revoke(ch->frame) == E_AGAIN)
				;
			(void)sys_frame_free(ch->frame);
		}
	}
	if (ch->scratch != NONE) {
		(void)sys_unmap(ch->scratch);
		(void)sys_frame_free(ch->scratch);
	}
	if (ch->peer != NONE)
		(void)sys_cap_delete(ch->peer);
	if (ch->ep != NONE)
		(void)sys_cap_delete(ch->ep);
	if (ch->ep_root != NONE)
		(void)sys_cap_delete(ch->ep_root);
	*ch = (struct ipc_chan){ 0 };
}

void libos_ipc_exit(void)
{
	for (unsigned i = 0; i < IPC_CHANS_MAX; i++)
		if (chans[i].used && chans[i].frame != NONE && chans[i].scratch == NONE)
			ipc_ends_close(&chans[i].tx, &chans[i].rx);
}

/* ------------------------------------------------------------------ */
/* Waiting. */

struct waitset {
	struct ipc_chan *const *chs;
	unsigned n;
	bool tx; /* waiting for room in chs[0] rather than for messages */
	uint64_t deadline, next_live;
	int ready; /* the index that is ready, E_TIMEOUT, or STOPPED */
};

static bool chan_ready(struct ipc_chan *ch, bool tx)
{
	if (chan_err(ch) || ch->peer_gone)
		return true;
	int r = tx ? ipc_ring_room(&ch->tx) : ipc_ring_avail(&ch->rx);
	if (r)
		return true;
	return tx ? ipc_tx_peer_closed(&ch->tx) : ipc_rx_peer_closed(&ch->rx);
}

static void swaps_without_threads(void)
{
	enum policy_kind kind;
	if (libos_threads_on())
		return; /* the scheduler upcall applies them */
	for (const char *spec; (spec = libos_swap_due(libos_cycles(), &kind));)
		(void)libos_policy_swap(kind, spec);
}

/* Any message (or room) in the set, looking at the rings only. */
static bool rings_ready(struct waitset *w)
{
	for (unsigned i = 0; i < w->n; i++) {
		struct ipc_chan *ch = w->chs[i];
		if (w->tx ? ipc_ring_room(&ch->tx) != 0 : ipc_ring_avail(&ch->rx) != 0)
			return true;
	}
	return false;
}

static bool ws_ready(void *arg)
{
	struct waitset *w = arg;
	for (unsigned i = 0; i < w->n; i++)
		if (chan_ready(w->chs[i], w->tx)) {
			w->ready = (int)i;
			return true;
		}
	if (serve_stop) {
		w->ready = STOPPED;
		return true;
	}
	uint64_t now = libos_cycles();
	if (now >= w->deadline) {
		w->ready = E_TIMEOUT;
		return true;
	}
	if (now >= w->next_live) {
		w->next_live = now + LIVE_CHECK_CYCLES;
		swaps_without_threads();
		for (unsigned i = 0; i < w->n; i++) {
			check_peer(w->chs[i]);
			if (w->chs[i]->peer_gone) {
				w->ready = (int)i;
				return true;
			}
		}
	}
	return false;
}

static void mark_asleep(struct waitset *w, bool asleep)
{
	for (unsigned i = 0; i < w->n; i++) {
		struct ipc_chan *ch = w->chs[i];
		if (chan_err(ch))
			continue;
		if (w->tx)
			ipc_tx_sleep(&ch->tx, asleep);
		else
			ipc_rx_sleep(&ch->rx, asleep);
	}
}

/* A peer on this core, if any is waited for. */
static struct ipc_chan *same_core_peer(const struct waitset *w)
{
	for (unsigned i = 0; i < w->n; i++)
		if (w->chs[i]->same_core)
			return w->chs[i];
	return NULL;
}

/* Let a peer on this core run (it is one we wait for), or pause for one on another core. */
static void spin_once(struct waitset *w, unsigned *spins)
{
	struct ipc_chan *ch = same_core_peer(w);
	if (ch) {
		if (ch->peer == NONE || sys_call6(SYS_YIELD_TO, ch->peer, 0, 0, 0, 0, 0) != 0)
			(void)sys_yield();
		return;
	}
	__builtin_ia32_pause();
	if (++*spins % SPINS_PER_THREAD_YIELD == 0)
		thread_yield(); /* nothing without threads */
}

/* Wait as the policy says until ws_ready; returns w.ready. */
static int wait_on(struct ipc_chan *const *chs, unsigned n, bool tx, uint64_t deadline)
{
	struct waitset w = { .chs = chs,
			     .n = n,
			     .tx = tx,
			     .deadline = deadline,
			     .next_live = libos_cycles() + LIVE_CHECK_CYCLES };
	flush_all(); /* a batching sender rings before it waits */
	uint64_t start = libos_cycles();
	unsigned spins = 0;
	bool same = same_core_peer(&w) != NULL;
	while (!ws_ready(&w)) {
		if (policy()->wait(libos_cycles() - start, same) != IPC_BLOCK) {
			spin_once(&w, &spins);
			/* Across cores: look at the rings alone a while (cheap) before the full check. */
			for (unsigned i = 0; !same && i < FAST_SPINS && !rings_ready(&w); i++)
				__builtin_ia32_pause();
			continue;
		}
		mark_asleep(&w, true);
		stats.blocks++;
		thread_wait_until(ws_ready, &w);
		mark_asleep(&w, false);
		(void)sys_call6(SYS_NOTIFY_TAKE, 0, 0, 0, 0, 0, 0); /* the doorbell did its job */
		break;
	}
	return w.ready;
}

/* ------------------------------------------------------------------ */
/* The API. */

static bool chan_ok(const struct ipc_chan *ch)
{
	return ch && ch >= chans && ch < chans + IPC_CHANS_MAX && ch->used && ch->frame != NONE;
}

static void after_send(struct ipc_chan *ch)
{
	uint64_t seq;
	unsigned bit;
	stats.sent++;
	if (ch->peer != NONE && ipc_tx_peer_asleep(&ch->tx, &seq, &bit)) {
		if (!policy()->notify_now(ch->tx.unnotified)) {
			held_back = true;
			return;
		}
		ring_peer(ch, bit);
		ipc_tx_rung(&ch->tx, seq);
	}
}

static int send_common(struct ipc_chan *ch, const void *msg, size_t len, bool wait)
{
	if (!chan_ok(ch) || (!msg && len))
		return E_INVAL;
	if (len > IPC_MSG_SIZE)
		return E_OVERFLOW;
	for (;;) {
		if (chan_err(ch))
			return chan_err(ch);
		int r = ipc_ring_put(&ch->tx, msg, len);
		if (chan_err(ch))
			return chan_err(ch);
		if (r == E_OK) {
			after_send(ch);
			return E_OK;
		}
		if (r != E_AGAIN)
			return fail(ch, r);
		if (ipc_tx_peer_closed(&ch->tx) || ch->peer_gone)
			return E_NOENT;
		if (!wait || (policy()->full_fails && policy()->full_fails()))
			return E_AGAIN;
		(void)wait_on(&ch, 1, true, ~0ULL);
	}
}

int ipc_send(struct ipc_chan *ch, const void *msg, size_t len)
{
	return send_common(ch, msg, len, true);
}

int ipc_try_send(struct ipc_chan *ch, const void *msg, size_t len)
{
	return send_common(ch, msg, len, false);
}

static int recv_common(struct ipc_chan *ch, struct ipc_msg *out, bool wait)
{
	if (!chan_ok(ch) || !out)
		return E_INVAL;
	for (;;) {
		if (chan_err(ch))
			return chan_err(ch);
		int r = ipc_ring_get(&ch->rx, out);
		if (chan_err(ch))
			return chan_err(ch);
		if (r == E_OK) {
			uint64_t seq;
			unsigned bit;
			stats.received++;
			if (ch->peer != NONE && ipc_rx_peer_asleep(&ch->rx, &seq, &bit)) {
				ring_peer(ch, bit); /* it waits for room: there is some now */
				ipc_rx_rung(&ch->rx, seq);
			}
			return E_OK;
		}
		if (r != E_AGAIN)
			return fail(ch, r);
		if (ipc_rx_peer_closed(&ch->rx) || ch->peer_gone) {
			/* What it published before it went still counts. */
			r = ipc_ring_get(&ch->rx, out);
			return r == E_OK ? E_OK : r == E_AGAIN ? E_NOENT : fail(ch, r);
		}
		if (!wait)
			return E_AGAIN;
		(void)wait_on(&ch, 1, false, ~0ULL);
	}
}

int ipc_recv(struct ipc_chan *ch, struct ipc_msg *out)
{
	return recv_common(ch, out, true);
}

int ipc_try_recv(struct ipc_chan *ch, struct ipc_msg *out)
{
	return recv_common(ch, out, false);
}

int ipc_wait_any(struct ipc_chan *const *chs, unsigned n, uint64_t timeout_ns)
{
	if (!chs || !n)
		return E_INVAL;
	for (unsigned i = 0; i < n; i++)
		if (!chan_ok(chs[i]))
			return E_INVAL;
	uint64_t now = libos_cycles(), deadline = ~0ULL;
	if (timeout_ns != IPC_FOREVER) {
		uint64_t c = timeout_ns / 1000 * (libos_cycles_hz() / 1000000);
		deadline = c > ~0ULL - now ? ~0ULL : now + c;
	}
	int r = wait_on(chs, n, false, deadline);
	return r == STOPPED ? E_TIMEOUT : r;
}

/* A call over PCT: the request in our call slot, the reply in the peer's. */
static int call_pct(struct ipc_chan *ch, const void *req, size_t len, struct ipc_msg *rep)
{
	ipc_fill_msg(ch->page->call[ch->side].b, req, len);
	const uint64_t a[6] = { 0 };
	uint64_t r[6];
	int64_t ret = pct_call(ch->ep, a, r);
	if (chan_err(ch))
		return chan_err(ch);
	if (ret == E_STALE) {
		ch->peer_gone = true; /* the server ended during the call, or is gone */
		return E_NOENT;
	}
	if (ret < 0)
		return (int)ret;
	if ((int64_t)r[0] < 0)
		return (int)(int64_t)r[0];
	ipc_copy_msg(rep, ch->page->call[ch->side ^ 1].b);
	if (chan_err(ch))
		return chan_err(ch);
	stats.pct_calls++;
	return E_OK;
}

int ipc_call(struct ipc_chan *ch, const void *req, size_t len, struct ipc_msg *rep)
{
	if (!chan_ok(ch) || !rep || (!req && len))
		return E_INVAL;
	if (len > IPC_MSG_SIZE)
		return E_OVERFLOW;
	if (ch->ep != NONE && ch->same_core && policy()->pct && !chan_err(ch)) {
		int r = call_pct(ch, req, len, rep);
		if (r != E_BUSY && r != E_AGAIN)
			return r;
		stats.pct_fallbacks++; /* the server is busy: the rings, which it serves later */
	}
	int r = ipc_send(ch, req, len);
	return r ? r : ipc_recv(ch, rep);
}

/* The PCT entry (pct.c) for endpoints ipc made: true if the badge is ours. */
bool libos_ipc_pct(uint64_t badge, const uint64_t a[6], uint64_t r[6])
{
	if (!(badge & PCT_BADGE))
		return false;
	uint64_t frame = badge & (CAP_SLOTS - 1); /* the kernel may widen the 32-bit badge */
	struct ipc_chan *ch = NULL;
	for (unsigned i = 0; i < IPC_CHANS_MAX && !ch; i++)
		if (chans[i].used && chans[i].frame == frame)
			ch = &chans[i];
	if (!ch || !ch->handler || in_handler) {
		/* Not open or serving yet, or inside the handler already: the caller uses the rings. */
		r[0] = (uint64_t)(int64_t)E_BUSY;
		return true;
	}
	struct ipc_msg req, rep = { 0 };
	ipc_copy_msg(&req, ch->page->call[ch->side ^ 1].b);
	if (chan_err(ch)) {
		r[0] = (uint64_t)(int64_t)chan_err(ch);
		return true;
	}
	in_handler = true;
	int h = ch->handler(ch, &req, &rep);
	in_handler = false;
	if (h == IPC_BUSY) {
		r[0] = (uint64_t)(int64_t)E_BUSY;
		return true;
	}
	ipc_copy_msg(ch->page->call[ch->side].b, &rep);
	if (h == IPC_REPLY_STOP)
		serve_stop = true;
	r[0] = 0;
	return true;
}

int ipc_serve(struct ipc_chan *const *chs, unsigned n, ipc_handler h)
{
	struct ipc_chan *live[IPC_CHANS_MAX];
	if (!chs || !n || n > IPC_CHANS_MAX || !h)
		return E_INVAL;
	for (unsigned i = 0; i < n; i++) {
		if (!chan_ok(chs[i]))
			return E_INVAL;
		live[i] = chs[i];
	}
	serve_stop = false;
	for (unsigned i = 0; i < n; i++)
		live[i]->handler = h;
	unsigned nlive = n;
	while (nlive && !serve_stop) {
		int i = wait_on(live, nlive, false, ~0ULL);
		if (i == STOPPED || i < 0)
			break;
		struct ipc_msg req, rep = { 0 };
		int r = ipc_try_recv(live[i], &req);
		if (r == E_AGAIN)
			continue;
		int hr = IPC_REPLY;
		if (r == E_OK) {
			in_handler = true;
			hr = h(live[i], &req, &rep);
			in_handler = false;
			r = ipc_send(live[i], &rep, sizeof(rep));
		}
		if (r) {
			live[i]->handler = NULL; /* its peer is gone, or it broke: drop it */
			live[i] = live[--nlive];
		}
		if (hr == IPC_REPLY_STOP)
			break;
	}
	for (unsigned i = 0; i < n; i++)
		chs[i]->handler = NULL;
	return E_OK;
}

/* ------------------------------------------------------------------ */
/* Small things. */

const char *ipc_name(const struct ipc_chan *ch)
{
	return chan_ok(ch) ? ch->name : "";
}

uint64_t ipc_peer_core(const struct ipc_chan *ch)
{
	return chan_ok(ch) ? ch->peer_core : NONE;
}

bool ipc_same_core(const struct ipc_chan *ch)
{
	return chan_ok(ch) && ch->same_core;
}

int ipc_error(const struct ipc_chan *ch)
{
	return chan_ok(ch) ? chan_err(ch) : E_INVAL;
}

uint64_t ipc_frame(const struct ipc_chan *ch)
{
	return chan_ok(ch) ? ch->frame : NONE;
}

struct ipc_page *ipc_page_of(struct ipc_chan *ch)
{
	return chan_ok(ch) ? ch->page : NULL;
}

void ipc_stats_get(struct ipc_stats *out)
{
	*out = stats;
}
