/*
 * The channel rings (libos/ipc_impl.h): single-producer single-consumer
 * rings of 64-byte messages in a page two environments share, and the
 * sleep handshake. No system call here: the same file builds for the host
 * tests and the fuzzer.
 *
 * The peer is not trusted. Every index it writes is read once, checked
 * against what this side knows (a producer's tail moves forward by at most
 * the ring's size past our head; a consumer's head moves forward and never
 * past our tail), and only then used; this side's own index lives in its
 * private struct and is never read back from the page. A bad index is
 * E_RANGE and changes nothing here.
 */
#include <libos/ipc_impl.h>

static inline uint64_t load_acq(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void store_rel(uint64_t *p, uint64_t v) // NOLINT(readability-non-const-parameter)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

void ipc_page_init(struct ipc_page *p)
{
	p->hdr.version = IPC_VERSION;
	p->hdr.slots = IPC_SLOTS;
	store_rel(&p->hdr.magic, IPC_MAGIC);
}

bool ipc_page_ok(const struct ipc_page *p)
{
	return load_acq(&p->hdr.magic) == IPC_MAGIC && p->hdr.version == IPC_VERSION &&
	       p->hdr.slots == IPC_SLOTS;
}

void ipc_ends_init(struct ipc_page *p, unsigned side, unsigned bit, struct ipc_tx *tx,
		   struct ipc_rx *rx)
{
	*tx = (struct ipc_tx){ .d = &p->dir[side & 1] };
	*rx = (struct ipc_rx){ .d = &p->dir[(side & 1) ^ 1] };
	/* A fresh page: both ends start at 0 (whatever the peer writes is checked on use). */
	store_rel(&tx->d->pw.notify_bit, bit);
	store_rel(&rx->d->cw.notify_bit, bit);
}

int ipc_ring_room(struct ipc_tx *tx)
{
	uint64_t used = tx->tail - tx->head_seen;
	if (used < IPC_SLOTS)
		return (int)(IPC_SLOTS - used);
	/* Looks full: read the consumer's head. It lies in [head_seen, tail]. */
	uint64_t head = load_acq(&tx->d->head.v);
	if (head - tx->head_seen > tx->tail - tx->head_seen)
		return E_RANGE;
	tx->head_seen = head;
	return (int)(IPC_SLOTS - (tx->tail - head));
}

int ipc_ring_put(struct ipc_tx *tx, const void *msg, size_t len)
{
	int room = ipc_ring_room(tx);
	if (room <= 0)
		return room < 0 ? room : E_AGAIN;
	ipc_fill_msg(tx->d->slot[tx->tail % IPC_SLOTS].b, msg, len);
	store_rel(&tx->d->tail.v, ++tx->tail);
	tx->unnotified++;
	return E_OK;
}

int ipc_ring_avail(struct ipc_rx *rx)
{
	uint64_t avail = rx->tail_seen - rx->head;
	if (avail)
		return (int)avail;
	/* Looks empty: read the producer's tail. It lies in [tail_seen, head + SLOTS]. */
	uint64_t tail = load_acq(&rx->d->tail.v);
	if (tail - rx->head > IPC_SLOTS)
		return E_RANGE;
	rx->tail_seen = tail;
	return (int)(tail - rx->head);
}

int ipc_ring_get(struct ipc_rx *rx, struct ipc_msg *out)
{
	int avail = ipc_ring_avail(rx);
	if (avail <= 0)
		return avail < 0 ? avail : E_AGAIN;
	/* Copy out first: the peer may scribble on the slot; we hand on what we copied. */
	ipc_copy_msg(out, rx->d->slot[rx->head % IPC_SLOTS].b);
	store_rel(&rx->d->head.v, ++rx->head);
	return E_OK;
}

static void mark(struct ipc_waiter *w, uint64_t *seq, bool asleep)
{
	/* Odd while asleep; each sleep a new value, so the peer rings once per sleep. */
	if (asleep == (*seq & 1))
		return;
	store_rel(&w->sleep_seq, ++*seq);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the mark before our next look at the ring */
}

void ipc_rx_sleep(struct ipc_rx *rx, bool asleep)
{
	mark(&rx->d->cw, &rx->sleep, asleep);
}

void ipc_tx_sleep(struct ipc_tx *tx, bool asleep)
{
	mark(&tx->d->pw, &tx->sleep, asleep);
}

static bool asleep(const struct ipc_waiter *w, uint64_t notified, uint64_t *seq, unsigned *bit)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* our publish before we look at its mark */
	uint64_t s = load_acq(&w->sleep_seq);
	if (!(s & 1) || s == notified)
		return false;
	*seq = s;
	uint64_t b = load_acq(&w->notify_bit);
	*bit = b < 63 ? (unsigned)b : 62; /* a bad bit only misroutes the peer's own doorbell */
	return true;
}

bool ipc_tx_peer_asleep(const struct ipc_tx *tx, uint64_t *seq, unsigned *bit)
{
	return asleep(&tx->d->cw, tx->notified, seq, bit);
}

void ipc_tx_rung(struct ipc_tx *tx, uint64_t seq)
{
	tx->notified = seq;
	tx->unnotified = 0;
}

bool ipc_rx_peer_asleep(const struct ipc_rx *rx, uint64_t *seq, unsigned *bit)
{
	return asleep(&rx->d->pw, rx->notified, seq, bit);
}

void ipc_rx_rung(struct ipc_rx *rx, uint64_t seq)
{
	rx->notified = seq;
}

bool ipc_rx_peer_closed(const struct ipc_rx *rx)
{
	return load_acq(&rx->d->pw.closed) != 0;
}

bool ipc_tx_peer_closed(const struct ipc_tx *tx)
{
	return load_acq(&tx->d->cw.closed) != 0;
}

void ipc_ends_close(struct ipc_tx *tx, struct ipc_rx *rx)
{
	store_rel(&tx->d->pw.closed, 1);
	store_rel(&rx->d->cw.closed, 1);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
