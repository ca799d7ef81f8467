/*
 * The hooks core/ registers with percpu/ (percpu/include/hooks.h): the idle
 * loop's scheduler, the waits' cross-core server, channel messages and ring
 * frames. Boot, the host tests' machines and the fuzz harness register them
 * before the channels are set up.
 */
#pragma once

void core_hooks_register(void);
