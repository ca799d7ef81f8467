/* arch/debug.h — host implements exo/arch/debug.h out of line; nothing else is per-arch here. */
#pragma once

#include <exo/arch/debug.h>
