/* arch/timer.h — x86_64 implements exo/arch/timer.h out of line; nothing else is per-arch here. */
#pragma once

#include <exo/arch/timer.h>
