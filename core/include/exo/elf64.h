/*
 * The ELF64 on-disk headers the kernel reads: user images (core/elf.c) and
 * downloaded eBPF objects (core/bpf_elf.c). Layouts only; each reader
 * checks every field of an untrusted image itself.
 */
#pragma once

#include <exo/types.h>

struct elf64_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

struct elf64_shdr {
	uint32_t name, type;
	uint64_t flags, addr, offset, size;
	uint32_t link, info;
	uint64_t addralign, entsize;
};

_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header");
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header");
_Static_assert(sizeof(struct elf64_shdr) == 64, "ELF64 section header");
