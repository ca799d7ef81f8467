/*
 * libFuzzer target: the IPC rings (libos-framework/ipc_ring.c) with one
 * honest side and one side the input drives, which may also write anything
 * into the lines it owns on the page (a hostile peer). Pure: bytes in, a
 * fresh page each input.
 *
 * Oracles (besides ASan/UBSan): the honest side's answers stay in range
 * (room and avail in [0, 26] or E_RANGE); its own indices only move
 * forward, by one per success; and while the peer has written nothing
 * hostile, every message the honest side receives is the next one the peer
 * sent, whole, and every message it sends arrives the same way.
 */
#include <libos/ipc_impl.h>
#include <stdlib.h>
#include <string.h>

static struct ipc_page page __attribute__((aligned(4096)));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_tx htx, ptx; /* h: honest (side 0), p: the peer (side 1) */
	struct ipc_rx hrx, prx;
	memset(&page, 0, sizeof(page));
	ipc_page_init(&page);
	ipc_ends_init(&page, 0, 1, &htx, &hrx);
	ipc_ends_init(&page, 1, 2, &ptx, &prx);
	bool hostile = false;
	uint64_t to_h = 0, got_h = 0, to_p = 0, got_p = 0; /* message numbers each way */
	for (size_t i = 0; i + 1 < size; i += 2) {
		uint8_t op = data[i], arg = data[i + 1];
		struct ipc_msg m;
		uint64_t h_head = hrx.head, h_tail = htx.tail;
		int r;
		switch (op % 8) {
		case 0: /* the peer sends */
			memset(&m, (int)(to_h & 0xff), sizeof(m));
			m.w[0] = to_h;
			if (ipc_ring_put(&ptx, &m, 8 + (size_t)(arg % (IPC_MSG_SIZE - 7))) == E_OK)
				to_h++;
			break;
		case 1: /* the honest side receives */
			r = ipc_ring_get(&hrx, &m);
			if (r == E_OK) {
				if (hrx.head != h_head + 1)
					abort();
				if (!hostile && m.w[0] != got_h)
					abort(); /* every message carries its number in its first word */
				got_h++;
			} else if ((r != E_AGAIN && r != E_RANGE) || hrx.head != h_head) {
				abort(); /* a refusal moves nothing */
			}
			break;
		case 2: /* the honest side sends */
			m.w[0] = to_p;
			r = ipc_ring_put(&htx, &m, sizeof(m));
			if (r == E_OK) {
				if (htx.tail != h_tail + 1)
					abort();
				to_p++;
			} else if ((r != E_AGAIN && r != E_RANGE) || htx.tail != h_tail) {
				abort();
			}
			break;
		case 3: /* the peer receives */
			if (ipc_ring_get(&prx, &m) == E_OK) {
				if (!hostile && m.w[0] != got_p)
					abort();
				got_p++;
			}
			break;
		case 4: /* the peer writes its tail: anything */
			page.dir[1].tail.v = (uint64_t)arg * 0x0101010101010101ULL >> (arg & 63);
			hostile = true;
			break;
		case 5: /* the peer writes its head: anything */
			page.dir[0].head.v = htx.tail + (uint64_t)(int8_t)arg;
			hostile = true;
			break;
		case 6: { /* the honest side's views stay in range */
			int a = ipc_ring_avail(&hrx), b = ipc_ring_room(&htx);
			if ((a != E_RANGE && (a < 0 || a > IPC_SLOTS)) ||
			    (b != E_RANGE && (b < 0 || b > IPC_SLOTS)))
				abort();
			break;
		}
		case 7: { /* sleep marks and bits: whatever the peer writes, a bit < 63 */
			uint64_t seq;
			unsigned bit = 0;
			page.dir[0].cw.sleep_seq = arg;
			page.dir[0].cw.notify_bit = (uint64_t)arg << (arg & 7);
			if (ipc_tx_peer_asleep(&htx, &seq, &bit) && bit >= 63)
				abort();
			hostile = true;
			break;
		}
		}
	}
	return 0;
}
