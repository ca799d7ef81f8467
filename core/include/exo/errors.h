/*
 * The one error enum of exocore: every fallible function and every syscall
 * returns 0 or one of these (negative). err_name() gives the symbol for logs.
 * Codes are ABI once syscalls exist: add at the end, never renumber.
 */
#pragma once

enum err {
	E_OK = 0,
	E_INVAL = -1,	  /* an argument is malformed or out of range */
	E_NOMEM = -2,	  /* no memory (or frame) left to satisfy the request */
	E_NOENT = -3,	  /* the named thing does not exist */
	E_EXIST = -4,	  /* the named thing exists already */
	E_BUSY = -5,	  /* the object is in use */
	E_AGAIN = -6,	  /* try again later: the operation would have to wait */
	E_RANGE = -7,	  /* a number is past the end of what it names */
	E_TIMEOUT = -8,	  /* a deadline passed before the operation completed */
	E_NOTSUP = -9,	  /* not supported on this machine or build */
	E_OVERFLOW = -10, /* a result does not fit where it has to go */
	E_PERM = -11,	  /* a right is missing, or the caller does not own the object */
	E_STALE = -12,	  /* the capability's generation is stale: its object is gone */
	E_BADSLOT = -13,  /* no capability in that slot, or the slot is out of range */
	E_TYPE = -14,	  /* the capability names an object of another type */
	E_FAULT = -15,	  /* a user address is outside user space or not mapped */
	E_ALIGN = -16,	  /* an address is not aligned as required */
	E_IO = -17,	  /* the device reported an error */
};

/* The symbol of an error code ("E_INVAL"), or "E_?" for an unknown one. */
const char *err_name(int err);
