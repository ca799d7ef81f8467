/* arch/disk.h — nothing of its own beyond exo/arch/disk.h (this arch implements it in disk.c). */
#pragma once

#include <exo/arch/disk.h>
