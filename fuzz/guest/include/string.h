/*
 * <string.h> for fuzz/prog.c built as user code (the in-guest fuzzer): the
 * libOS links core/lib/string.c, whose declarations are exo/string.h.
 */
#pragma once

#include <exo/string.h>
