/* ACPI core discovery (acpi.c), internal to core/arch/x86_64. */
#pragma once

#include <exo/types.h>

/*
 * Fill apic_ids with up to max enabled cores' APIC ids, in MADT order;
 * *found gets the total number enabled. Returns how many were stored, or
 * -1 if there is no usable RSDP or MADT.
 */
int acpi_find_cores(uint64_t rsdp_hint, uint32_t *apic_ids, unsigned max, unsigned *found);
