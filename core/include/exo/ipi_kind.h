/* The kinds of inter-processor interrupt. Each is one vector on x86_64. */
#pragma once

enum ipi_kind {
	IPI_WAKE,  /* no work: wakes a halted core (the channel doorbell) */
	IPI_PING,  /* benchmark/self-test: answer with IPI_PONG to the sender */
	IPI_PONG,  /* the answer to IPI_PING */
	IPI_CALL,  /* run this core's pending cross-call (percpu/ipi.c) */
	IPI_STOP,  /* panic elsewhere: stop this core now */
	IPI_TLB,   /* flush this core's TLB, then acknowledge (percpu/ipi.c) */
	IPI_KINDS,
};
