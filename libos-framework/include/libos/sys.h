/*
 * The raw system calls (exo/abi.h), one inline function each. Results are
 * the kernel's: >= 0, or a negative enum err.
 */
#pragma once

#include <exo/abi.h>

static inline int64_t sys_call6(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
				uint64_t a4, uint64_t a5)
{
	register uint64_t r10 __asm__("r10") = a3;
	register uint64_t r8 __asm__("r8") = a4;
	register uint64_t r9 __asm__("r9") = a5;
	int64_t ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define SYS0(nr) sys_call6((nr), 0, 0, 0, 0, 0, 0)
#define SYS1(nr, a) sys_call6((nr), (uint64_t)(a), 0, 0, 0, 0, 0)
#define SYS2(nr, a, b) sys_call6((nr), (uint64_t)(a), (uint64_t)(b), 0, 0, 0, 0)
#define SYS3(nr, a, b, c) sys_call6((nr), (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), 0, 0, 0)

static inline int64_t sys_console_write(const void *p, uint64_t n) { return SYS2(SYS_CONSOLE_WRITE, p, n); }
static inline int64_t sys_core_id(void) { return SYS0(SYS_CORE_ID); }
static inline int64_t sys_time(struct sys_time *t) { return SYS1(SYS_TIME, t); }
static inline int64_t sys_yield(void) { return SYS0(SYS_YIELD); }
static inline noreturn_fn void sys_exit(int status)
{
	SYS1(SYS_EXIT, status);
	__builtin_unreachable();
}
static inline int64_t sys_frame_alloc(uint64_t frame) { return SYS1(SYS_FRAME_ALLOC, frame); }
static inline int64_t sys_frame_free(uint64_t slot) { return SYS1(SYS_FRAME_FREE, slot); }
static inline int64_t sys_map(uint64_t slot, uint64_t va, uint64_t prot) { return SYS3(SYS_MAP, slot, va, prot); }
static inline int64_t sys_unmap(uint64_t slot) { return SYS1(SYS_UNMAP, slot); }
static inline int64_t sys_read_ad(uint64_t va, uint64_t n, uint8_t *out) { return SYS3(SYS_READ_AD, va, n, out); }
static inline int64_t sys_cap_mint(uint64_t slot, uint64_t rights, uint64_t badge) { return SYS3(SYS_CAP_MINT, slot, rights, badge); }
static inline int64_t sys_cap_grant(uint64_t slot, uint64_t env, uint64_t flags) { return SYS3(SYS_CAP_GRANT, slot, env, flags); }
static inline int64_t sys_cap_revoke(uint64_t slot) { return SYS1(SYS_CAP_REVOKE, slot); }
static inline int64_t sys_cap_delete(uint64_t slot) { return SYS1(SYS_CAP_DELETE, slot); }
static inline int64_t sys_cap_inspect(uint64_t slot, struct cap_info *out) { return SYS2(SYS_CAP_INSPECT, slot, out); }
static inline int64_t sys_env_create(uint64_t core) { return SYS1(SYS_ENV_CREATE, core); }
static inline int64_t sys_env_start(uint64_t env, uint64_t prog, uint64_t arg) { return SYS3(SYS_ENV_START, env, prog, arg); }
/* args: NUL-ended words (exo/abi.h ENV_ARGS_MAX), len bytes in all. */
static inline int64_t sys_env_start_args(uint64_t env, uint64_t prog, uint64_t arg,
					 const void *args, uint64_t len)
{
	return sys_call6(SYS_ENV_START, env, prog, arg, (uint64_t)args, len, 0);
}
static inline int64_t sys_env_destroy(uint64_t env) { return SYS1(SYS_ENV_DESTROY, env); }
static inline int64_t sys_env_status(uint64_t env) { return SYS1(SYS_ENV_STATUS, env); }
static inline int64_t sys_debug_check(void) { return SYS0(SYS_DEBUG_CHECK); }
static inline int64_t sys_frame_count(void) { return SYS0(SYS_FRAME_COUNT); }
static inline int64_t sys_disk_info(struct disk_info *out)
{
	return SYS1(SYS_DISK_INFO, out);
}
static inline int64_t sys_block_alloc(uint64_t first, uint64_t count)
{
	return SYS2(SYS_BLOCK_ALLOC, first, count);
}
static inline int64_t sys_block_free(uint64_t slot)
{
	return SYS1(SYS_BLOCK_FREE, slot);
}
/* op: BLOCK_READ or BLOCK_WRITE; block: index within the range; notify: bits ORed in on completion. */
static inline int64_t sys_block_io(uint64_t blocks, uint64_t block, uint64_t frame, uint64_t op,
				   uint64_t notify)
{
	return sys_call6(SYS_BLOCK_IO, blocks, block, frame, op, notify, 0);
}
static inline int64_t sys_block_wait(uint64_t id, uint64_t flags)
{
	return SYS2(SYS_BLOCK_WAIT, id, flags);
}
