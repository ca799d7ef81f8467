/* arch/power.h — host implements exo/arch/power.h out of line; nothing else is per-arch here. */
#pragma once

#include <exo/arch/power.h>
