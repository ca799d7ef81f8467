/* arch/console.h — x86_64: COM1, polled (the interface: exo/arch/console.h). */
#pragma once

#include <exo/arch/console.h>
