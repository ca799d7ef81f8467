/*
 * User program images linked into the kernel (built from tests/user/ and
 * workloads/, embedded by tools/mkimages.py). Programs are named by index in
 * SYS_ENV_START and by name in the kernel's own tests.
 */
#pragma once

#include <exo/types.h>

struct user_image {
	const char *name;
	const uint8_t *data;
	uint64_t size;
};

extern const struct user_image user_images[];
extern const unsigned user_image_count;

/* Index of the image called name, or -1. */
int image_find(const char *name);

/*
 * Check an ELF64 image and call load(ctx, va, memsz, file bytes, filesz,
 * prot) for each PT_LOAD segment; returns the entry point in *entry.
 * E_INVAL for anything malformed: bad magic, class, machine, type, a
 * segment outside [lo, hi) or past the file, overlapping 32-bit sizes.
 */
must_check int elf_load(const uint8_t *img, uint64_t size, uint64_t lo, uint64_t hi,
			int (*load)(void *ctx, uint64_t va, uint64_t memsz, const uint8_t *src,
				    uint64_t filesz, unsigned prot),
			void *ctx, uint64_t *entry);
