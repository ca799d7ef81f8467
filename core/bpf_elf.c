/*
 * Finding the program in a `clang -target bpf -O2 -c` object (exo/bpf.h):
 * an ELF64 little-endian relocatable file for EM_BPF. The image is
 * untrusted: every offset and size is checked against the image's size,
 * with no sum that can overflow, before anything is read through it. A
 * relocation against the program's section means the program uses a map or
 * a global variable, which exocore does not have: refused.
 */
#include <exo/bpf.h>
#include <exo/elf64.h>
#include <exo/errors.h>
#include <exo/string.h>

#define ET_REL 1
#define EM_BPF 247
#define SHT_PROGBITS 1
#define SHT_RELA 4
#define SHT_REL 9
#define SHF_EXECINSTR 0x4

static int bad(struct bpf_verdict *v, const char *why)
{
	v->rule = BPF_R_ELF;
	v->insn = 0;
	v->why = why;
	return E_INVAL;
}

/* Is [off, off + len) inside an image of size bytes? (No overflow.) */
static bool inside(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* The section header i, copied (the image need not be aligned). */
static void shdr_at(const uint8_t *img, const struct elf64_ehdr *eh, uint32_t i,
		    struct elf64_shdr *sh)
{
	memcpy(sh, img + eh->shoff + (uint64_t)i * sizeof(*sh), sizeof(*sh));
}

/* Does section sh's name equal want? The name must end inside the string table. */
static bool name_is(const uint8_t *img, const struct elf64_shdr *strtab,
		    const struct elf64_shdr *sh, const char *want)
{
	if (sh->name >= strtab->size)
		return false;
	const char *name = (const char *)img + strtab->offset + sh->name;
	uint64_t room = strtab->size - sh->name, len = strlen(want);
	/* want and its NUL must fit, and match byte for byte. */
	return len < room && memcmp(name, want, len + 1) == 0;
}

int bpf_elf_find(const void *image, uint64_t size, const char *section,
		 const struct bpf_insn **insns, uint32_t *n, struct bpf_verdict *v)
{
	const uint8_t *img = image;
	struct elf64_ehdr eh;

	v->rule = BPF_OK;
	v->insn = 0;
	v->why = NULL;
	if (!img || size < sizeof(eh))
		return bad(v, "shorter than an ELF header");
	memcpy(&eh, img, sizeof(eh));
	if (memcmp(eh.ident,
		   "\x7f"
		   "ELF",
		   4) != 0)
		return bad(v, "not ELF");
	if (eh.ident[4] != 2 || eh.ident[5] != 1)
		return bad(v, "not ELF64 little-endian");
	if (eh.type != ET_REL || eh.machine != EM_BPF)
		return bad(v, "not a BPF relocatable object (clang -target bpf -c)");
	if (eh.shentsize != sizeof(struct elf64_shdr) || eh.shnum == 0)
		return bad(v, "no section headers, or of the wrong size");
	if (!inside(eh.shoff, (uint64_t)eh.shnum * sizeof(struct elf64_shdr), size))
		return bad(v, "section headers outside the image");
	if (eh.shstrndx >= eh.shnum)
		return bad(v, "section name table index out of range");

	/* Every section's contents inside the image, checked once here. */
	struct elf64_shdr sh, strtab;
	for (uint32_t i = 0; i < eh.shnum; i++) {
		shdr_at(img, &eh, i, &sh);
		if (sh.type != 8 /* NOBITS */ && sh.type != 0 && !inside(sh.offset, sh.size, size))
			return bad(v, "a section outside the image");
	}
	shdr_at(img, &eh, eh.shstrndx, &strtab);
	if (strtab.type != 3 /* STRTAB */)
		return bad(v, "the section name table is not a string table");

	/* The program: the named section, else the first nonempty executable one. */
	uint32_t prog = 0;
	for (uint32_t i = 1; i < eh.shnum && !prog; i++) {
		shdr_at(img, &eh, i, &sh);
		if (sh.type != SHT_PROGBITS)
			continue;
		if (section ? name_is(img, &strtab, &sh, section)
			    : (sh.flags & SHF_EXECINSTR) && sh.size > 0)
			prog = i;
	}
	if (!prog)
		return bad(v, section ? "no section of that name" : "no executable section");
	struct elf64_shdr ps;
	shdr_at(img, &eh, prog, &ps);
	if (!(ps.flags & SHF_EXECINSTR))
		return bad(v, "the named section is not executable");
	if (ps.size == 0 || ps.size % sizeof(struct bpf_insn) != 0)
		return bad(v, "the program's size is not a whole number of instructions");
	if (ps.size / sizeof(struct bpf_insn) > BPF_MAX_INSNS)
		return bad(v, "the program has more than BPF_MAX_INSNS instructions");
	if ((uintptr_t)(img + ps.offset) % _Alignof(struct bpf_insn) != 0)
		return bad(v, "the program is not aligned in the image");

	/* Relocations against it: maps, globals or calls to other sections. */
	for (uint32_t i = 1; i < eh.shnum; i++) {
		shdr_at(img, &eh, i, &sh);
		if ((sh.type == SHT_REL || sh.type == SHT_RELA) && sh.info == prog && sh.size > 0)
			return bad(v, "relocations against the program (maps or global variables)");
	}
	*insns = (const struct bpf_insn *)(img + ps.offset);
	*n = (uint32_t)(ps.size / sizeof(struct bpf_insn));
	return E_OK;
}
