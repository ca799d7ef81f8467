/*
 * Downloaded code from the libOS's side (docs/downloaded-code.md): load a
 * `clang -target bpf` object (configure.py embeds each `*.bpf.c` of the
 * tree as an array, libos/bpf_objs.h) at a hook with SYS_BPF_LOAD, and wrap
 * instructions made at run time in the smallest ELF object the kernel
 * takes. Header-only: host tests use the wrapper too.
 */
#pragma once

#include <exo/abi.h>
#include <exo/bpf.h>

/* The bytes bpf_image_wrap needs for n instructions. */
#define BPF_IMAGE_BYTES(n) (64 + (uint64_t)(n)*8 + 24 + 3ULL * 64)

/*
 * Write an ELF64 relocatable object for BPF holding prog[0..n) as its one
 * executable section ".text" into buf (cap bytes, 8-aligned). Returns its
 * length, or 0 if it does not fit.
 */
static inline uint64_t bpf_image_wrap(const struct bpf_insn *prog, uint32_t n, void *buf,
				      uint64_t cap)
{
	uint64_t text = 64, strtab = text + (uint64_t)n * 8, shoff = strtab + 24,
		 len = shoff + 3ULL * 64;
	if (len > cap)
		return 0;
	uint8_t *b = buf;
	for (uint64_t i = 0; i < len; i++)
		b[i] = 0;
	/* The ELF header: 64-bit, little endian, ET_REL, EM_BPF (247). */
	const uint8_t ident[16] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	for (unsigned i = 0; i < 16; i++)
		b[i] = ident[i];
	uint16_t *h16 = (uint16_t *)(b + 16);
	h16[0] = 1;   /* e_type ET_REL */
	h16[1] = 247; /* e_machine EM_BPF */
	*(uint32_t *)(b + 20) = 1;
	*(uint64_t *)(b + 40) = shoff;
	*(uint16_t *)(b + 52) = 64; /* e_ehsize */
	*(uint16_t *)(b + 58) = 64; /* e_shentsize */
	*(uint16_t *)(b + 60) = 3;  /* e_shnum */
	*(uint16_t *)(b + 62) = 2;  /* e_shstrndx */
	const uint8_t *p = (const uint8_t *)prog;
	for (uint64_t i = 0; i < (uint64_t)n * 8; i++)
		b[text + i] = p[i];
	const char names[] = "\0.text\0.shstrtab";
	for (unsigned i = 0; i < sizeof(names); i++)
		b[strtab + i] = (uint8_t)names[i];
	/* Section headers: [0] null, [1] .text, [2] .shstrtab. */
	uint8_t *s1 = b + shoff + 64, *s2 = b + shoff + 128;
	*(uint32_t *)(s1 + 0) = 1;	   /* sh_name ".text" */
	*(uint32_t *)(s1 + 4) = 1;	   /* SHT_PROGBITS */
	*(uint64_t *)(s1 + 8) = 2 | 4;	   /* SHF_ALLOC | SHF_EXECINSTR */
	*(uint64_t *)(s1 + 24) = text;	   /* sh_offset */
	*(uint64_t *)(s1 + 32) = n * 8ULL; /* sh_size */
	*(uint64_t *)(s1 + 48) = 8;	   /* sh_addralign */
	*(uint32_t *)(s2 + 0) = 7;	   /* ".shstrtab" */
	*(uint32_t *)(s2 + 4) = 3;	   /* SHT_STRTAB */
	*(uint64_t *)(s2 + 24) = strtab;
	*(uint64_t *)(s2 + 32) = sizeof(names);
	*(uint64_t *)(s2 + 48) = 1;
	return len;
}

#ifdef EXO_USER
#include <libos/sys.h>

/*
 * SYS_BPF_LOAD: the OBJ_BPF capability's slot, or a negative error; *v
 * (if not NULL) gets the verdict (rule 0: accepted). region: a frame slot
 * the caller owns, or BPF_NO_REGION; target: the message hook's env slot.
 */
static inline int64_t libos_bpf_load(unsigned hook, const void *image, uint64_t len,
				     uint64_t region, uint64_t target, struct bpf_load_verdict *v)
{
	return sys_call6(SYS_BPF_LOAD, hook, (uint64_t)image, len, region, (uint64_t)v, target);
}
#endif

/*
 * A `*.bpf.c` of the tree, as configure.py embeds it in every program:
 * BPF_OBJECT(ping) declares bpf_obj_ping[] and bpf_obj_ping_size.
 */
#define BPF_OBJECT(name)                                                                           \
	extern const uint8_t bpf_obj_##name[];                                                     \
	extern const uint64_t bpf_obj_##name##_size
