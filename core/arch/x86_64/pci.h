/*
 * PCI configuration space through the legacy ports 0xcf8/0xcfc (kernel-only;
 * q35 and i440fx both have them). Enough to find a device, read its
 * capability list and BARs, and turn on memory decoding and bus mastering.
 */
#pragma once

#include <exo/types.h>

struct pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
};

uint32_t pci_read32(const struct pci_dev *d, uint8_t off);
void pci_write32(const struct pci_dev *d, uint8_t off, uint32_t v);
uint16_t pci_read16(const struct pci_dev *d, uint8_t off);
void pci_write16(const struct pci_dev *d, uint8_t off, uint16_t v);
uint8_t pci_read8(const struct pci_dev *d, uint8_t off);

/* The first function with this vendor and a device id in [lo, hi]: true, filled in *out. */
bool pci_find(uint16_t vendor, uint16_t lo, uint16_t hi, struct pci_dev *out);

/* The physical address BAR bar decodes (memory BARs; 64-bit ones span two), 0 if none. */
uint64_t pci_bar_addr(const struct pci_dev *d, unsigned bar);

/* Offset of the first capability with this id at or after the one at `from` (0: the start); 0 if none. */
uint8_t pci_cap_next(const struct pci_dev *d, uint8_t id, uint8_t from);

#define PCI_COMMAND 0x04
#define PCI_CMD_MEM (1u << 1)
#define PCI_CMD_MASTER (1u << 2)
#define PCI_CMD_INTX_OFF (1u << 10)
#define PCI_CAP_VENDOR 0x09
