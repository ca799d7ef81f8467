/* User memory access by page-table walk (see exo/uaccess.h). */
#include <arch/mm.h>
#include <arch/phys.h>
#include <exo/abi.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/string.h>
#include <exo/uaccess.h>

static bool range_ok(uint64_t uva, size_t n)
{
	return uva >= USER_BASE && uva <= USER_END && n <= USER_END - uva;
}

/*
 * Is every page of [uva, uva+n) mapped for the user (and writable, if write)?
 * The first `keep` pages' physical addresses go to kept[] for the copy that
 * follows under the same lock (one walk instead of two). Lock held.
 */
static bool pages_ok_keep(struct env *e, uint64_t uva, size_t n, bool write, paddr_t *kept,
			  unsigned keep) REQUIRES(e->lock)
{
	unsigned i = 0;
	for (uint64_t page = ALIGN_DOWN(uva, PAGE_SIZE); page < uva + n; page += PAGE_SIZE, i++) {
		paddr_t pa;
		unsigned prot;
		if (arch_query(&e->as, va_make(page), &pa, &prot) != E_OK || !(prot & MMU_USER) ||
		    (write && !(prot & MMU_WRITE)))
			return false;
		if (i < keep)
			kept[i] = pa;
	}
	return true;
}

static bool pages_ok(struct env *e, uint64_t uva, size_t n, bool write) REQUIRES(e->lock)
{
	return pages_ok_keep(e, uva, n, write, NULL, 0);
}

/*
 * Copy n bytes between kernel buffer k and user uva; the pages were checked
 * (and the first `nkept` of them looked up: kept[]), lock held.
 */
#define KEPT_PAGES 2
static void copy_pages(struct env *e, uint64_t uva, uint8_t *k, size_t n, bool to_user,
		       const paddr_t *kept) REQUIRES(e->lock)
{
	for (unsigned i = 0; n; i++) {
		paddr_t pa;
		unsigned prot;
		uint64_t page = ALIGN_DOWN(uva, PAGE_SIZE), off = uva - page;
		size_t chunk = MIN(n, PAGE_SIZE - off);
		if (i < KEPT_PAGES)
			pa = kept[i];
		else
			(void)arch_query(&e->as, va_make(page), &pa,
					 &prot); /* checked by the caller */
		uint8_t *p = (uint8_t *)arch_phys_to_virt(pa) + off;
		if (to_user)
			memcpy(p, k, chunk);
		else
			memcpy(k, p, chunk);
		k += chunk;
		uva += chunk;
		n -= chunk;
	}
}

/*
 * Copy n bytes between kernel buffer k and user uva. Every page is checked
 * before any byte moves, so a failed copy changes nothing.
 */
static int copy_user(struct env *e, uint64_t uva, void *k, size_t n, bool to_user)
{
	if (!range_ok(uva, n))
		return E_FAULT;
	spin_lock(&e->lock); /* the mappings cannot change under the copy */
	paddr_t kept[KEPT_PAGES];
	bool ok = pages_ok_keep(e, uva, n, to_user, kept, KEPT_PAGES);
	if (ok)
		copy_pages(e, uva, k, n, to_user, kept);
	spin_unlock(&e->lock);
	return ok ? E_OK : E_FAULT;
}

int copy_from_user(struct env *e, void *dst, uint64_t uva, size_t n)
{
	return copy_user(e, uva, dst, n, false);
}

int copy_to_user(struct env *e, uint64_t uva, const void *src, size_t n)
{
	return copy_user(e, uva, (void *)src, n, true);
}

int uaccess_check_locked(struct env *e, uint64_t uva, size_t n)
{
	return range_ok(uva, n) && pages_ok(e, uva, n, true) ? E_OK : E_FAULT;
}

int copy_to_user_locked(struct env *e, uint64_t uva, const void *src, size_t n)
{
	paddr_t kept[KEPT_PAGES];
	if (!range_ok(uva, n) || !pages_ok_keep(e, uva, n, true, kept, KEPT_PAGES))
		return E_FAULT;
	copy_pages(e, uva, (uint8_t *)src, n, true, kept);
	return E_OK;
}

int uaccess_check(struct env *e, uint64_t uva, size_t n, bool write)
{
	if (!range_ok(uva, n))
		return E_FAULT;
	spin_lock(&e->lock);
	bool ok = pages_ok(e, uva, n, write);
	spin_unlock(&e->lock);
	return ok ? E_OK : E_FAULT;
}

int uaccess_fault_pin(struct env *e, uint64_t uva, size_t n)
{
	if (!range_ok(uva, n) || n == 0)
		return E_FAULT;
	uint64_t page = ALIGN_DOWN(uva, PAGE_SIZE);
	if (ALIGN_DOWN(uva + n - 1, PAGE_SIZE) != page)
		return E_RANGE;
	paddr_t pa = pa_make(0);
	spin_lock(&e->lock);
	if (!pages_ok_keep(e, uva, n, true, &pa, 1)) {
		spin_unlock(&e->lock);
		return E_FAULT;
	}
	e->fault_pin_page = page;
	e->fault_pin_uva = uva;
	__atomic_store_n(&e->fault_pin, (uint8_t *)arch_phys_to_virt(pa) + (uva - page),
			 __ATOMIC_RELEASE);
	spin_unlock(&e->lock);
	return E_OK;
}
