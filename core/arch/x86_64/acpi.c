/*
 * ACPI, only as far as finding the cores: RSDP -> RSDT/XSDT -> MADT, whose
 * local APIC (type 0) and x2APIC (type 9) entries name every enabled core.
 */
#include <arch/phys.h>
#include <arch/x86.h>
#include <exo/kprintf.h>
#include <exo/string.h>
#include "acpi.h"

struct rsdp {
	char sig[8];
	uint8_t checksum;
	char oem[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length; /* revision >= 2 from here */
	uint64_t xsdt;
	uint8_t xchecksum;
	uint8_t reserved[3];
} __attribute__((packed));

struct sdt {
	char sig[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem[6];
	char oem_table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

struct madt {
	struct sdt h;
	uint32_t lapic_addr;
	uint32_t flags;
	uint8_t entries[];
} __attribute__((packed));

/* ACPI tables live below 4 GiB on every machine we run on (the boot direct map). */
#define ACPI_LIMIT (4ULL << 30)

static bool sum_ok(const void *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += ((const uint8_t *)p)[i];
	return s == 0;
}

static const struct rsdp *rsdp_scan(uint64_t from, uint64_t len)
{
	for (uint64_t a = from; a + sizeof(struct rsdp) <= from + len; a += 16) {
		const struct rsdp *r = arch_phys_to_virt(pa_make(a));
		if (memcmp(r->sig, "RSD PTR ", 8) == 0 && sum_ok(r, 20))
			return r;
	}
	return NULL;
}

static const struct rsdp *rsdp_find(uint64_t hint)
{
	if (hint && hint < ACPI_LIMIT) {
		const struct rsdp *r = arch_phys_to_virt(pa_make(hint));
		if (memcmp(r->sig, "RSD PTR ", 8) == 0 && sum_ok(r, 20))
			return r;
	}
	uint64_t ebda = (uint64_t)*(const uint16_t *)arch_phys_to_virt(pa_make(0x40e)) << 4;
	const struct rsdp *r = ebda ? rsdp_scan(ebda, 1024) : NULL;
	return r ? r : rsdp_scan(0xe0000, 0x20000);
}

static const struct sdt *table_at(uint64_t pa)
{
	if (!pa || pa >= ACPI_LIMIT)
		return NULL;
	const struct sdt *t = arch_phys_to_virt(pa_make(pa));
	if (t->length < sizeof(*t) || pa + t->length > ACPI_LIMIT || !sum_ok(t, t->length))
		return NULL;
	return t;
}

static const struct madt *madt_find(const struct rsdp *r)
{
	bool x = r->revision >= 2 && r->xsdt;
	const struct sdt *root = table_at(x ? r->xsdt : r->rsdt);
	if (!root)
		return NULL;
	size_t width = x ? 8 : 4, n = (root->length - sizeof(*root)) / width;
	const uint8_t *ents = (const uint8_t *)(root + 1);
	for (size_t i = 0; i < n; i++) {
		uint64_t pa = 0;
		memcpy(&pa, ents + i * width, width);
		const struct sdt *t = table_at(pa);
		if (t && memcmp(t->sig, "APIC", 4) == 0)
			return (const struct madt *)t;
	}
	return NULL;
}

int acpi_find_cores(uint64_t rsdp_hint, uint32_t *apic_ids, unsigned max, unsigned *found)
{
	const struct rsdp *r = rsdp_find(rsdp_hint);
	if (!r)
		return -1;
	const struct madt *m = madt_find(r);
	if (!m)
		return -1;
	unsigned n = 0, total = 0;
	const uint8_t *p = m->entries, *end = (const uint8_t *)m + m->h.length;
	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		uint32_t id = 0, flags = 0;
		bool cpu = false;
		if (p[0] == 0 && p[1] >= 8) { /* processor local APIC */
			id = p[3];
			memcpy(&flags, p + 4, 4);
			cpu = true;
		} else if (p[0] == 9 && p[1] >= 16) { /* processor local x2APIC */
			memcpy(&id, p + 4, 4);
			memcpy(&flags, p + 8, 4);
			cpu = true;
		}
		if (cpu && (flags & 1)) { /* enabled */
			if (n < max)
				apic_ids[n++] = id;
			total++;
		}
		p += p[1];
	}
	*found = total;
	return (int)n;
}
