/* Basic types shared by the kernel, the host build and (later) user code. */
#pragma once

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a)-1)) == 0)

#define CACHE_LINE 64
#define PAGE_SIZE 4096UL
#define PAGE_SHIFT 12

#define noreturn_fn __attribute__((noreturn))
#define must_check __attribute__((warn_unused_result))
#define printf_like(f, a) __attribute__((format(printf, f, a)))
#define unused_fn __attribute__((unused))

/* The most cores one kernel supports. Core ids are 0..MAX_CPUS-1. */
#define MAX_CPUS 64

/*
 * Physical and virtual addresses are distinct one-member structs, so the
 * compiler refuses to mix them up (STYLE.md: opaque address types).
 */
typedef struct {
	uint64_t pa;
} paddr_t;
typedef struct {
	uint64_t va;
} vaddr_t;

static inline paddr_t pa_make(uint64_t pa) { return (paddr_t){ pa }; }
static inline uint64_t pa_raw(paddr_t p) { return p.pa; }
static inline vaddr_t va_make(uint64_t va) { return (vaddr_t){ va }; }
static inline uint64_t va_raw(vaddr_t v) { return v.va; }
