/* Offsets used by user.S; gdt.c checks each against the C layout. */
#pragma once

#define PERCPU_KCTX_RSP 8
#define PERCPU_KSTACK 16
#define PERCPU_USER_RSP 24
#define PERCPU_UREGS 32
#define PERCPU_TSS 40
#define PERCPU_ID 144
#define PERCPU_CURRENT 328
#define PERCPU_PREEMPT 1420

#define UCTX_RAX 0
#define UCTX_RDI 8
#define UCTX_RSI 16
#define UCTX_RDX 24
#define UCTX_R10 32
#define UCTX_R8 40
#define UCTX_R9 48
#define UCTX_R12 56
#define UCTX_RBX 64
#define UCTX_RCX 72
#define UCTX_RBP 80
#define UCTX_R11 88
#define UCTX_R13 96
#define UCTX_R14 104
#define UCTX_R15 112
#define UCTX_RIP 120
#define UCTX_RSP 128
#define UCTX_RFLAGS 136

/* exo/abi.h values user.S tests; syscall.c checks them. */
#define SYS_FRAME_ALLOC_NR 5
#define FRAME_WAIT_FLAG 1

/* struct env's fault fields (entry.S's trap_user_fault); trap.c checks them. */
#define ENV_FAULT_ENTRY 736
#define ENV_FAULT_STACK 744
#define ENV_FAULT_STACK_SIZE 752
#define ENV_FAULT_PIN 760
#define ENV_FAULT_PIN_UVA 768
#define ENV_FAULT_PIN_BUSY 784
