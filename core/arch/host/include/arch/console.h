/* arch/console.h — host: standard output, unbuffered (the interface: exo/arch/console.h). */
#pragma once

#include <exo/arch/console.h>
