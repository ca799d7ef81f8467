/*
 * Writing eBPF programs by hand, for tests and the fuzzer's seeds: one macro
 * per instruction form, in the manner of Linux's BPF_MOV64_IMM and friends
 * (our own names). A_LDDW is two instructions.
 */
#pragma once

#include <exo/bpf.h>

#define A_ALU64_IMM(op, d, i) BPF_INSN(BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define A_ALU64_REG(op, d, s) BPF_INSN(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define A_ALU32_IMM(op, d, i) BPF_INSN(BPF_ALU | (op) | BPF_K, d, 0, 0, i)
#define A_ALU32_REG(op, d, s) BPF_INSN(BPF_ALU | (op) | BPF_X, d, s, 0, 0)
#define A_MOV64_IMM(d, i) A_ALU64_IMM(BPF_MOV, d, i)
#define A_MOV64_REG(d, s) A_ALU64_REG(BPF_MOV, d, s)
#define A_NEG64(d) BPF_INSN(BPF_ALU64 | BPF_NEG, d, 0, 0, 0)
#define A_TO_BE(d, bits) BPF_INSN(BPF_ALU | BPF_END | BPF_X, d, 0, 0, bits)
#define A_TO_LE(d, bits) BPF_INSN(BPF_ALU | BPF_END | BPF_K, d, 0, 0, bits)

/* d = *(size *)(s + off); *(size *)(d + off) = s or imm. */
#define A_LDX(size, d, s, off) BPF_INSN(BPF_LDX | BPF_MEM | (size), d, s, off, 0)
#define A_STX(size, d, s, off) BPF_INSN(BPF_STX | BPF_MEM | (size), d, s, off, 0)
#define A_ST(size, d, off, i) BPF_INSN(BPF_ST | BPF_MEM | (size), d, 0, off, i)

#define A_LDDW(d, v)                                                                               \
	BPF_INSN(BPF_LD | BPF_IMM | BPF_DW, d, 0, 0, (int32_t)(uint32_t)(v)),                      \
	    BPF_INSN(0, 0, 0, 0, (int32_t)(uint32_t)((uint64_t)(v) >> 32))

#define A_JMP_IMM(op, d, i, off) BPF_INSN(BPF_JMP | (op) | BPF_K, d, 0, off, i)
#define A_JMP_REG(op, d, s, off) BPF_INSN(BPF_JMP | (op) | BPF_X, d, s, off, 0)
#define A_JMP32_IMM(op, d, i, off) BPF_INSN(BPF_JMP32 | (op) | BPF_K, d, 0, off, i)
#define A_JMP32_REG(op, d, s, off) BPF_INSN(BPF_JMP32 | (op) | BPF_X, d, s, off, 0)
#define A_JA(off) BPF_INSN(BPF_JMP | BPF_JA, 0, 0, off, 0)
#define A_CALL(id) BPF_INSN(BPF_JMP | BPF_CALL, 0, 0, 0, id)
#define A_EXIT() BPF_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
