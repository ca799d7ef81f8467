/* PCI configuration space (pci.h). */
#include "pci.h"

#include <arch/x86.h>

#define CONFIG_ADDR 0xcf8
#define CONFIG_DATA 0xcfc

static uint32_t addr(const struct pci_dev *d, uint8_t off)
{
	return 1u << 31 | (uint32_t)d->bus << 16 | (uint32_t)d->dev << 11 | (uint32_t)d->fn << 8 |
	       (off & 0xfc);
}

uint32_t pci_read32(const struct pci_dev *d, uint8_t off)
{
	outl(CONFIG_ADDR, addr(d, off));
	return inl(CONFIG_DATA);
}

void pci_write32(const struct pci_dev *d, uint8_t off, uint32_t v)
{
	outl(CONFIG_ADDR, addr(d, off));
	outl(CONFIG_DATA, v);
}

uint16_t pci_read16(const struct pci_dev *d, uint8_t off)
{
	return (uint16_t)(pci_read32(d, off) >> ((off & 2) * 8));
}

void pci_write16(const struct pci_dev *d, uint8_t off, uint16_t v)
{
	uint32_t w = pci_read32(d, off), shift = (off & 2) * 8;
	pci_write32(d, off, (w & ~(0xffffu << shift)) | (uint32_t)v << shift);
}

uint8_t pci_read8(const struct pci_dev *d, uint8_t off)
{
	return (uint8_t)(pci_read32(d, off) >> ((off & 3) * 8));
}

bool pci_find(uint16_t vendor, uint16_t lo, uint16_t hi, struct pci_dev *out)
{
	for (unsigned bus = 0; bus < 256; bus++)
		for (unsigned dev = 0; dev < 32; dev++)
			for (unsigned fn = 0; fn < 8; fn++) {
				struct pci_dev d = { (uint8_t)bus, (uint8_t)dev, (uint8_t)fn, 0,
						     0 };
				uint32_t id = pci_read32(&d, 0);
				if ((id & 0xffff) == 0xffff) {
					if (fn == 0)
						break; /* no device here at all */
					continue;
				}
				d.vendor = (uint16_t)id;
				d.device = (uint16_t)(id >> 16);
				if (d.vendor == vendor && d.device >= lo && d.device <= hi) {
					*out = d;
					return true;
				}
				/* Function 0 without the multi-function bit: no others. */
				if (fn == 0 && !(pci_read8(&d, 0x0e) & 0x80))
					break;
			}
	return false;
}

uint64_t pci_bar_addr(const struct pci_dev *d, unsigned bar)
{
	if (bar > 5)
		return 0;
	uint32_t lo = pci_read32(d, (uint8_t)(0x10 + 4 * bar));
	if (lo & 1)
		return 0; /* an I/O BAR */
	uint64_t a = lo & ~0xfu;
	if (((lo >> 1) & 3) == 2 && bar < 5)
		a |= (uint64_t)pci_read32(d, (uint8_t)(0x10 + 4 * (bar + 1))) << 32;
	return a;
}

uint8_t pci_cap_next(const struct pci_dev *d, uint8_t id, uint8_t from)
{
	if (!(pci_read16(d, 0x06) & (1u << 4)))
		return 0; /* no capability list */
	uint8_t at = from ? pci_read8(d, (uint8_t)(from + 1)) : pci_read8(d, 0x34);
	for (unsigned n = 0; at && n < 48; n++) { /* bounded: a looping list ends */
		at &= 0xfc;
		if (pci_read8(d, at) == id)
			return at;
		at = pci_read8(d, (uint8_t)(at + 1));
	}
	return 0;
}
