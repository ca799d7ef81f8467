/*
 * The worked example of docs/downloaded-code.md: a message handler (an
 * ASH) in C, built by configure.py with `clang -target bpf -O2 -c` and
 * embedded in every user program as bpf_obj_ping[] (libos/bpf.h
 * BPF_OBJECT). Loaded at BPF_HOOK_MESSAGE with a region that holds a
 * one-slot ring, it answers a ping in the kernel, on the receiver's core,
 * when the sender's doorbell (SYS_NOTIFY) arrives: the receiver is not
 * scheduled. tests/user/bpf.c runs it.
 */
#include <exo/abi.h>

/* The ring in the region (one page, shared with the sender). */
struct ping_ring {
	uint64_t request; /* the sender's number, 0: none */
	uint64_t reply;	  /* the handler's answer: request + 1 */
	uint64_t served;  /* how many the handler answered */
};

/* Helper 1 of the message hook: notify the env named at load (the sender). */
static long (*const msg_notify)(uint64_t bits) = (void *)BPF_HELPER_MSG_NOTIFY;

/* r1: the context, r2: the region. Nonzero: consumed (the receiver never sees the bits). */
__attribute__((section("message"), used)) long ping(const struct bpf_msg_ctx *ctx,
						    struct ping_ring *ring)
{
	if (!(ctx->bits & 2))
		return 0; /* not a ping doorbell: deliver it as usual */
	uint64_t q = ring->request;
	if (q == 0)
		return 0;
	ring->reply = q + 1;
	ring->request = 0;
	ring->served++;
	msg_notify(1); /* the reply's doorbell */
	return 1;
}
