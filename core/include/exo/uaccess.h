/*
 * Copying between the kernel and an environment's memory. Addresses are
 * checked against user space and translated through the environment's own
 * page tables (never dereferenced directly), so a bad pointer is E_FAULT,
 * never a kernel fault, whichever address space the core has loaded.
 */
#pragma once

#include <exo/types.h>

struct env;

/* E_FAULT: [uva, uva+n) leaves user space or is not mapped (readable). */
must_check int copy_from_user(struct env *e, void *dst, uint64_t uva, size_t n);

/* E_FAULT: as above, or a page is not writable by the user. */
must_check int copy_to_user(struct env *e, uint64_t uva, const void *src, size_t n);

/* uaccess_check(write) with e->lock already held. */
must_check int uaccess_check_locked(struct env *e, uint64_t uva, size_t n) REQUIRES(e->lock);

/* copy_to_user with e->lock already held (the caller keeps the mappings still across more work). */
must_check int copy_to_user_locked(struct env *e, uint64_t uva, const void *src, size_t n)
    REQUIRES(e->lock);

/* Would a copy of n bytes to (write) or from uva succeed now? E_FAULT if not. */
must_check int uaccess_check(struct env *e, uint64_t uva, size_t n, bool write);

/*
 * Pin e's fault frame (exo/env.h fault_pin) at [uva, uva + n): one walk, and
 * if that lies in one page mapped for the user writable, its kernel alias
 * becomes e->fault_pin (under e's lock). E_FAULT: not mapped writable, or
 * outside user space; E_RANGE: it crosses a page (then nothing is pinned).
 */
must_check int uaccess_fault_pin(struct env *e, uint64_t uva, size_t n);
