/* arch/ipi.h — host implements exo/arch/ipi.h out of line; nothing else is per-arch here. */
#pragma once

#include <exo/arch/ipi.h>
