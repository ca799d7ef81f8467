/* A strict ELF64 loader for user images (see exo/image.h). */
#include <exo/abi.h>
#include <exo/elf64.h>
#include <exo/errors.h>
#include <exo/image.h>
#include <exo/string.h>

#define PT_LOAD 1
#define ET_EXEC 2
#define EM_X86_64 62
#define PF_X 1
#define PF_W 2
#define PF_R 4

int elf_load(const uint8_t *img, uint64_t size, uint64_t lo, uint64_t hi,
	     int (*load)(void *ctx, uint64_t va, uint64_t memsz, const uint8_t *src,
			 uint64_t filesz, unsigned prot),
	     void *ctx, uint64_t *entry)
{
	struct elf64_ehdr eh;
	if (size < sizeof(eh))
		return E_INVAL;
	memcpy(&eh, img, sizeof(eh));
	if (memcmp(eh.ident, "\x7f" "ELF", 4) != 0 || eh.ident[4] != 2 /* 64-bit */ ||
	    eh.ident[5] != 1 /* little-endian */ || eh.type != ET_EXEC ||
	    eh.machine != EM_X86_64 || eh.phentsize != sizeof(struct elf64_phdr))
		return E_INVAL;
	if (eh.phoff > size || (uint64_t)eh.phnum * sizeof(struct elf64_phdr) > size - eh.phoff)
		return E_INVAL;
	if (eh.entry < lo || eh.entry >= hi)
		return E_INVAL;
	/* Check every segment before loading any, so a bad image loads nothing. */
	for (int pass = 0; pass < 2; pass++) {
		for (uint16_t i = 0; i < eh.phnum; i++) {
			struct elf64_phdr ph;
			memcpy(&ph, img + eh.phoff + i * sizeof(ph), sizeof(ph));
			if (ph.type != PT_LOAD || ph.memsz == 0)
				continue;
			if (ph.filesz > ph.memsz || ph.offset > size || ph.filesz > size - ph.offset ||
			    ph.vaddr < lo || ph.memsz > hi - lo || ph.vaddr > hi - ph.memsz)
				return E_INVAL;
			if (pass == 0)
				continue;
			unsigned prot = (ph.flags & PF_R ? PROT_R : 0) |
					(ph.flags & PF_W ? PROT_W : 0) |
					(ph.flags & PF_X ? PROT_X : 0);
			int e = load(ctx, ph.vaddr, ph.memsz, img + ph.offset, ph.filesz, prot);
			if (e)
				return e;
		}
	}
	*entry = eh.entry;
	return E_OK;
}

int image_find(const char *name)
{
	for (unsigned i = 0; i < user_image_count; i++) {
		const char *a = user_images[i].name, *b = name;
		while (*a && *a == *b)
			a++, b++;
		if (*a == *b)
			return (int)i;
	}
	return -1;
}
