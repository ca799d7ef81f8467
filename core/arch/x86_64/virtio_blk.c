/*
 * The disk (exo/arch/disk.h) on x86_64: a virtio-blk device over PCI, the
 * virtio 1.0 ("modern") interface only — QEMU's `-drive if=virtio` or
 * `-device virtio-blk-pci`. Kernel-only.
 *
 * One request queue. Request tag t owns descriptors 3t (the request header,
 * device-readable), 3t+1 (the data frame) and 3t+2 (the status byte,
 * device-writable), so a submit never allocates and never fails; the used
 * ring's id (the chain's head) gives the tag back. Completion is found by
 * polling the used ring (core/disk.c polls on every disk call and from
 * each core's scheduler loop).
 */
#include "pci.h"

#include <arch/disk.h>
#include <arch/phys.h>
#include <exo/abi.h>
#include <exo/kprintf.h>
#include <exo/string.h>

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_BLK_LEGACY 0x1001 /* transitional: it has the modern interface too */
#define VIRTIO_BLK_MODERN 0x1042

/* virtio_pci_cap.cfg_type */
enum { CAP_COMMON = 1, CAP_NOTIFY = 2, CAP_ISR = 3, CAP_DEVICE = 4 };

/* struct virtio_pci_common_cfg (virtio 1.0, 4.1.4.3): offsets */
#define COMMON_DFSELECT 0x00
#define COMMON_DF 0x04
#define COMMON_GFSELECT 0x08
#define COMMON_GF 0x0c
#define COMMON_MSIX 0x10
#define COMMON_NUMQ 0x12
#define COMMON_STATUS 0x14
#define COMMON_Q_SELECT 0x16
#define COMMON_Q_SIZE 0x18
#define COMMON_Q_MSIX 0x1a
#define COMMON_Q_ENABLE 0x1c
#define COMMON_Q_NOFF 0x1e
#define COMMON_Q_DESC 0x20
#define COMMON_Q_AVAIL 0x28
#define COMMON_Q_USED 0x30

enum { ST_ACK = 1, ST_DRIVER = 2, ST_DRIVER_OK = 4, ST_FEATURES_OK = 8, ST_FAILED = 128 };
#define F_VERSION_1 32 /* feature bit: the 1.0 interface */
#define NO_VECTOR 0xffff

enum { VIRTQ_DESC_F_NEXT = 1, VIRTQ_DESC_F_WRITE = 2 };
enum { BLK_T_IN = 0, BLK_T_OUT = 1 };

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct blk_req_hdr {
	uint32_t type, reserved;
	uint64_t sector; /* 512-byte units */
};

#define QSIZE 256 /* descriptors at most (a frame of them); the device may offer fewer */

static struct {
	volatile uint8_t *common, *notify_at, *device;
	uint16_t qsize, avail_idx, used_seen;
	unsigned depth;
	uint64_t blocks;
	struct virtq_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[qsize] */
	volatile uint32_t *used;  /* flags | idx << 16, then (id, len) pairs */
	struct blk_req_hdr *hdr;  /* one per tag */
	volatile uint8_t *status; /* one per tag */
	uint64_t hdr_pa, status_pa;
	struct pci_dev pci;
	uint32_t notify_mult; /* the notify capability's queue_notify_off multiplier */
} vq;

static void w8(volatile uint8_t *b, unsigned off, uint8_t v)
{
	*(volatile uint8_t *)(b + off) = v;
}
static void w16(volatile uint8_t *b, unsigned off, uint16_t v)
{
	*(volatile uint16_t *)(b + off) = v;
}
static void w32(volatile uint8_t *b, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(b + off) = v;
}
static void w64(volatile uint8_t *b, unsigned off, uint64_t v)
{
	w32(b, off, (uint32_t)v);
	w32(b, off + 4, (uint32_t)(v >> 32));
}
static uint8_t r8(const volatile uint8_t *b, unsigned off)
{
	return *(const volatile uint8_t *)(b + off);
}
static uint16_t r16(const volatile uint8_t *b, unsigned off)
{
	return *(const volatile uint16_t *)(b + off);
}
static uint32_t r32(const volatile uint8_t *b, unsigned off)
{
	return *(const volatile uint32_t *)(b + off);
}

/* The structure a vendor capability points at, through the direct map (BARs below 4 GiB). */
static volatile uint8_t *cap_window(const struct pci_dev *d, uint8_t cap)
{
	uint8_t bar = pci_read8(d, (uint8_t)(cap + 4));
	uint32_t off = pci_read32(d, (uint8_t)(cap + 8));
	uint64_t base = pci_bar_addr(d, bar);
	if (!base || base + off >= ARCH_PHYS_LIMIT)
		return NULL;
	return (volatile uint8_t *)arch_phys_to_virt(pa_make(base + off));
}

static uint64_t fail(const char *why)
{
	kprintf("disk: virtio-blk: %s; no disk\n", why);
	if (vq.common)
		w8(vq.common, COMMON_STATUS, ST_FAILED);
	vq.depth = 0;
	return 0;
}

uint64_t arch_disk_probe(unsigned *frames)
{
	struct pci_dev d;
	if (!pci_find(VIRTIO_VENDOR, VIRTIO_BLK_LEGACY, VIRTIO_BLK_LEGACY, &d) &&
	    !pci_find(VIRTIO_VENDOR, VIRTIO_BLK_MODERN, VIRTIO_BLK_MODERN, &d))
		return 0;
	vq.notify_mult = 0;
	for (uint8_t c = pci_cap_next(&d, PCI_CAP_VENDOR, 0); c;
	     c = pci_cap_next(&d, PCI_CAP_VENDOR, c)) {
		uint8_t type = pci_read8(&d, (uint8_t)(c + 3));
		if (type == CAP_COMMON && !vq.common)
			vq.common = cap_window(&d, c);
		else if (type == CAP_NOTIFY && !vq.notify_at) {
			vq.notify_at = cap_window(&d, c);
			vq.notify_mult = pci_read32(&d, (uint8_t)(c + 16));
		} else if (type == CAP_DEVICE && !vq.device)
			vq.device = cap_window(&d, c);
	}
	if (!vq.common || !vq.notify_at || !vq.device)
		return fail("no virtio 1.0 interface below 4 GiB");
	pci_write16(&d, PCI_COMMAND,
		    pci_read16(&d, PCI_COMMAND) | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_INTX_OFF);

	/* 3.1.1: reset, acknowledge, negotiate (VERSION_1 and nothing else), set up, go. */
	w8(vq.common, COMMON_STATUS, 0);
	while (r8(vq.common, COMMON_STATUS))
		;
	w8(vq.common, COMMON_STATUS, ST_ACK);
	w8(vq.common, COMMON_STATUS, ST_ACK | ST_DRIVER);
	w32(vq.common, COMMON_DFSELECT, 1);
	if (!(r32(vq.common, COMMON_DF) & (1u << (F_VERSION_1 - 32))))
		return fail("the device does not offer VERSION_1");
	w32(vq.common, COMMON_GFSELECT, 0);
	w32(vq.common, COMMON_GF, 0);
	w32(vq.common, COMMON_GFSELECT, 1);
	w32(vq.common, COMMON_GF, 1u << (F_VERSION_1 - 32));
	w8(vq.common, COMMON_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(r8(vq.common, COMMON_STATUS) & ST_FEATURES_OK))
		return fail("the device refused our features");
	w16(vq.common, COMMON_MSIX, NO_VECTOR);

	w16(vq.common, COMMON_Q_SELECT, 0);
	uint16_t max = r16(vq.common, COMMON_Q_SIZE);
	if (max < 3)
		return fail("request queue 0 is missing");
	/* A power of two no larger than the device's maximum or QSIZE. */
	uint16_t qsize = 1;
	while (qsize * 2 <= max && qsize * 2 <= QSIZE)
		qsize *= 2;
	vq.qsize = qsize;
	vq.depth = qsize / 3;
	vq.pci = d;
	/* virtio_blk_config.capacity: 512-byte sectors. A partial last block is not used. */
	uint64_t sectors = (uint64_t)r32(vq.device, 0) | (uint64_t)r32(vq.device, 4) << 32;
	vq.blocks = sectors / (BLOCK_SIZE / 512);
	*frames = 4; /* descriptors; avail ring; used ring; request headers and status bytes */
	return vq.blocks;
}

bool arch_disk_start(const paddr_t *frames)
{
	uint64_t desc_pa = pa_raw(frames[0]), avail_pa = pa_raw(frames[1]),
		 used_pa = pa_raw(frames[2]), req_pa = pa_raw(frames[3]);
	uint16_t qsize = vq.qsize;
	const struct pci_dev d = vq.pci;
	vq.desc = arch_phys_to_virt(pa_make(desc_pa));
	vq.avail = arch_phys_to_virt(pa_make(avail_pa));
	vq.used = arch_phys_to_virt(pa_make(used_pa));
	vq.hdr_pa = req_pa;
	vq.status_pa = req_pa + ARCH_DISK_DEPTH_MAX * sizeof(struct blk_req_hdr);
	vq.hdr = arch_phys_to_virt(pa_make(vq.hdr_pa));
	vq.status = arch_phys_to_virt(pa_make(vq.status_pa));
	_Static_assert(QSIZE * sizeof(struct virtq_desc) <= PAGE_SIZE, "descriptors fit a frame");
	_Static_assert(ARCH_DISK_DEPTH_MAX * (sizeof(struct blk_req_hdr) + 1) <= PAGE_SIZE,
		       "headers and status bytes fit a frame");
	/* The fixed chains: header -> data -> status, per tag. */
	for (unsigned t = 0; t < vq.depth; t++) {
		struct virtq_desc *c = &vq.desc[(size_t)3 * t];
		c[0] = (struct virtq_desc){ vq.hdr_pa + t * sizeof(struct blk_req_hdr),
					    sizeof(struct blk_req_hdr), VIRTQ_DESC_F_NEXT,
					    (uint16_t)(3 * t + 1) };
		c[1] =
		    (struct virtq_desc){ 0, BLOCK_SIZE, VIRTQ_DESC_F_NEXT, (uint16_t)(3 * t + 2) };
		c[2] = (struct virtq_desc){ vq.status_pa + t, 1, VIRTQ_DESC_F_WRITE, 0 };
	}
	w16(vq.common, COMMON_Q_SIZE, qsize);
	w16(vq.common, COMMON_Q_MSIX, NO_VECTOR);
	w64(vq.common, COMMON_Q_DESC, desc_pa);
	w64(vq.common, COMMON_Q_AVAIL, avail_pa);
	w64(vq.common, COMMON_Q_USED, used_pa);
	vq.notify_at += (size_t)r16(vq.common, COMMON_Q_NOFF) * vq.notify_mult;
	vq.avail[0] = 1; /* VIRTQ_AVAIL_F_NO_INTERRUPT: we poll */
	w16(vq.common, COMMON_Q_ENABLE, 1);
	w8(vq.common, COMMON_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	kprintf(
	    "disk: virtio-blk at %02x:%02x.%x, %llu blocks of %llu bytes, queue %u (%u requests)\n",
	    d.bus, d.dev, d.fn, (unsigned long long)vq.blocks, (unsigned long long)BLOCK_SIZE,
	    qsize, vq.depth);
	return true;
}

unsigned arch_disk_depth(void)
{
	return vq.depth;
}

void arch_disk_submit(unsigned tag, bool write, uint64_t block, paddr_t frame)
{
	vq.hdr[tag] =
	    (struct blk_req_hdr){ write ? BLK_T_OUT : BLK_T_IN, 0, block * (BLOCK_SIZE / 512) };
	vq.status[tag] = 0xff; /* the device writes 0 (OK), 1 (IOERR) or 2 (UNSUPP) */
	struct virtq_desc *data = &vq.desc[3 * tag + 1];
	data->addr = pa_raw(frame);
	data->flags = (uint16_t)(VIRTQ_DESC_F_NEXT | (write ? 0 : VIRTQ_DESC_F_WRITE));
	vq.avail[2 + vq.avail_idx % vq.qsize] = (uint16_t)(3 * tag);
	/* The chain and the ring entry are visible before the index that publishes them. */
	__atomic_store_n(&vq.avail[1], ++vq.avail_idx, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*(volatile uint16_t *)vq.notify_at = 0; /* queue 0 */
}

unsigned arch_disk_poll(void (*done)(unsigned tag, bool ok, void *arg), void *arg)
{
	if (!vq.depth)
		return 0;
	unsigned n = 0;
	uint16_t idx = (uint16_t)(__atomic_load_n(&vq.used[0], __ATOMIC_ACQUIRE) >> 16);
	while (vq.used_seen != idx) {
		uint32_t id = vq.used[1 + 2 * (vq.used_seen % vq.qsize)];
		vq.used_seen++;
		unsigned tag = id / 3;
		if (id % 3 || tag >= vq.depth) {
			kprintf("disk: virtio-blk: used ring names descriptor %u; ignored\n", id);
			continue;
		}
		done(tag, vq.status[tag] == 0, arg);
		n++;
	}
	return n;
}
