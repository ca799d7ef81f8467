/*
 * The kernel command line: space-separated key=value words, matched against
 * a table of known options. A word that is not key=value, an unknown key, or
 * a value of the wrong form is reported by name and ignored; the option
 * keeps its default. Parsing never fails the boot.
 */
#pragma once

#include <exo/types.h>

enum cmdline_type {
	CMDLINE_UINT, /* decimal, or 0x-prefixed hex, within [min, max] */
	CMDLINE_BOOL, /* yes/no, on/off, true/false, 1/0 */
	CMDLINE_STR,  /* any non-empty text without spaces */
};

struct cmdline_opt {
	const char *key;
	enum cmdline_type type;
	union {
		uint64_t *u;
		bool *b;
		const char **s; /* points into the caller's buffer */
	} dst;
	uint64_t min, max; /* CMDLINE_UINT only */
};

/*
 * Parse line (NUL-terminated) in place: words are split by writing NULs
 * into it, and CMDLINE_STR values point into it, so it must outlive them.
 * Prints one "cmdline: ..." line per problem; returns how many there were.
 */
unsigned cmdline_parse(char *line, const struct cmdline_opt *opts, size_t nopts);

/* Parse a number as the command line does; false if malformed or too big. */
bool cmdline_parse_uint(const char *s, uint64_t *out);
