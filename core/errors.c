#include <exo/errors.h>

const char *err_name(int err)
{
	static const char *const names[] = {
		[0] = "E_OK",
		[-E_INVAL] = "E_INVAL",
		[-E_NOMEM] = "E_NOMEM",
		[-E_NOENT] = "E_NOENT",
		[-E_EXIST] = "E_EXIST",
		[-E_BUSY] = "E_BUSY",
		[-E_AGAIN] = "E_AGAIN",
		[-E_RANGE] = "E_RANGE",
		[-E_TIMEOUT] = "E_TIMEOUT",
		[-E_NOTSUP] = "E_NOTSUP",
		[-E_OVERFLOW] = "E_OVERFLOW",
		[-E_PERM] = "E_PERM",
		[-E_STALE] = "E_STALE",
		[-E_BADSLOT] = "E_BADSLOT",
		[-E_TYPE] = "E_TYPE",
		[-E_FAULT] = "E_FAULT",
		[-E_ALIGN] = "E_ALIGN",
		[-E_IO] = "E_IO",
	};
	if (err > 0 || -err >= (int)(sizeof(names) / sizeof(names[0])) || !names[-err])
		return "E_?";
	return names[-err];
}
