/*
 * libFuzzer target: the kernel command-line parser on arbitrary bytes.
 * Oracles: ASan/UBSan, plus the parser's contract — options keep their
 * defaults unless a word set them to a value within bounds.
 */
#include <exo/cmdline.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';

	uint64_t n = 42;
	bool b = false;
	static const char deflt[] = "default";
	const char *s = deflt;
	const struct cmdline_opt table[] = {
		{ .key = "n", .type = CMDLINE_UINT, .dst.u = &n, .min = 10, .max = 1000 },
		{ .key = "b", .type = CMDLINE_BOOL, .dst.b = &b },
		{ .key = "s", .type = CMDLINE_STR, .dst.s = &s },
	};
	cmdline_parse(line, table, sizeof(table) / sizeof(table[0]), NULL);
	if (n != 42 && (n < 10 || n > 1000))
		abort(); /* a value out of bounds got through */
	if (s != deflt && (s < line || s > line + size || *s == '\0'))
		abort(); /* a string value outside the line, or empty */
	free(line);
	return 0;
}
