/*
 * exocore: visible revocation with the abort protocol and TLB shootdown.
 *
 * A Promela model of docs/design.md "The page-ownership table" and "Cross-core
 * messages and revocation" (issue 5). What it abstracts and how each element
 * maps to the kernel: docs/revocation-model.md. Checked by tools/check-model.
 *
 * Cast, in the checked configuration (N = 3):
 *   core H = 0  home of the owner environment OWNER and its libOS, which owns
 *               both frames at the start (mapped on H);
 *   core R = 1  home of the requester REQ, which asks H for frames back;
 *   cores SHARER_FIRST..N-1 each run a sharer: an environment holding
 *               capabilities derived from OWNER's (a shared-memory ring, say)
 *               that may map OWNER's frames there, so a frame can be mapped
 *               on several cores.
 *
 * The protocol as modelled (the rules the implementation must keep):
 *   request   R sends REVOKE_REQ(f) to H. H CASes f OWNED -> REVOKING (from
 *             here on nobody may map f), upcalls the libOS ("give back f")
 *             and arms the deadline.
 *   teardown  started by the libOS returning f (cooperative) or by the
 *             deadline (abort): f is REVOKING; every PTE of f is removed
 *             (unmap by force) and H's TLB flushed; then the mapped-on set
 *             is read and each other core in it gets SHOOTDOWN(f); a core
 *             taking a SHOOTDOWN unmaps f from its address spaces (again: a
 *             map syscall may have installed it since), flushes its TLB and
 *             answers SHOOTDOWN_ACK. H keeps handling messages meanwhile.
 *   complete  when every ack is in: clear the mapped-on set (still
 *             REVOKING), record f in the repossession vector if forced, bump
 *             the generation and publish the new state: OWNED by REQ (with
 *             REVOKE_ACK to R) if requested, else FREE.
 *   map       set the core's mapped-on bit; then re-read the POT entry: map
 *             only if OWNED at the capability's generation; then install.
 *             One kernel action on that core: no message handled in between.
 *   release   only with a live capability, and not while f's teardown is
 *             waiting for acks (E_BUSY).
 *
 * Each core's kernel instance is single-threaded: its syscalls and its
 * message handling never overlap (klock[c], "the kernel is busy on core c").
 * Other cores interleave freely between the atomic steps below; one atomic
 * step is one CAS on the page-ownership table or one core-local action.
 *
 * Bug switches (each makes one property fail; tools/check-model checks that
 * spin finds the counterexample):
 *   BUG_NO_ACK_WAIT        hand the frame over without waiting for every
 *                          SHOOTDOWN_ACK
 *   BUG_NO_GEN_BUMP        completion does not bump the generation
 *   BUG_NO_DEADLINE        no deadline timer: the abort path never starts
 *   BUG_FLUSH_ONLY         a remote SHOOTDOWN flushes the TLB but leaves the
 *                          remote page tables alone (the unmap done only on
 *                          the home core)
 *   BUG_MAP_CHECK_FIRST    map checks the POT before setting its mapped-on
 *                          bit (check, then note, then install)
 *   BUG_GEN_ONLY_CHECK     map checks only the generation, so a REVOKING
 *                          frame can still be mapped (today's stale())
 *   BUG_IRQ_SHOOTDOWN      a SHOOTDOWN is handled in interrupt context, in
 *                          the middle of a map syscall on that core
 *   BUG_RELEASE_IN_TEARDOWN a release of a frame whose teardown is waiting
 *                          for acks frees it on the spot (pot_release takes
 *                          a REVOKING frame today)
 *   BUG_NO_OWNER_CHECK     release trusts the frame number the libOS returns
 *   BUG_CLEAR_MAPPED_LATE  completion publishes FREE first and clears the
 *                          mapped-on set afterwards (as pot_release does)
 */

#ifndef N
#define N 3 /* cores: 2..4 */
#endif
#define F 2 /* frames */
#ifndef QCAP
#define QCAP 2 /* capacity of each per-pair ring */
#endif
#ifndef SHARE_OPS
#define SHARE_OPS 2 /* map/unmap syscalls per sharer */
#endif
#ifndef LIBOS_OPS
#define LIBOS_OPS 3 /* release/map/unmap syscalls of the owner's libOS */
#endif
#ifndef REQ_OPS
#define REQ_OPS 2 /* claim/map/unmap syscalls of the requester */
#endif

#ifndef SHARER_FIRST
#define SHARER_FIRST 2 /* sharers run on cores SHARER_FIRST..N-1 */
#endif
#define H 0 /* the owner's home core */
#define R 1 /* the requester's core */

/* environments */
#define NOBODY 0
#define OWNER 1
#define REQ 2

/* page-ownership states (exo/pot.h) */
#define S_FREE 0
#define S_OWNED 1
#define S_REVOKING 2
#define S_KERNEL 3

mtype = { REVOKE_REQ, REVOKE_ACK, SHOOTDOWN, SHOOTDOWN_ACK };

/* ---- shared: the page-ownership table -------------------------------- */

typedef pot_entry {
	byte state;
	byte owner;
	byte gen;
	byte mapped_on; /* bit c: the frame may be mapped on core c */
};
pot_entry pot[F];

/* ---- per core: page tables and TLB (collapsed over address spaces) --- */

/* A PTE or TLB entry for frame f on core c: 0 = none, else TAG(owner, gen)
 * of the incarnation it was made for (a ghost tag: the hardware keeps only
 * the frame number; the tag is what lets the properties speak about it). */
#define TAG(o, g) ((g) * 4 + (o))
#define IX(c, f) ((c) * F + (f))
byte pte[N * F];
byte tlb[N * F];

/* ---- per ordered core pair: a bounded FIFO ring ---------------------- */

chan q[N * N] = [QCAP] of { mtype, byte, byte }; /* kind, frame, generation */
#define Q(a, b) q[(a) * N + (b)]

bit klock[N]; /* the kernel instance on core c is busy (syscall or message) */

/* ---- private to the home core: revocation records -------------------- */

#define IDLE 0     /* no revocation of this frame */
#define ASKED 1    /* REVOKE_REQ taken, libOS upcalled, deadline armed */
#define SHOOTING 2 /* unmapped by force, SHOOTDOWNs out, waiting for acks */
byte phase[F];
byte pending[F];  /* cores whose SHOOTDOWN_ACK is outstanding */
bit forced[F];    /* this teardown is the abort path */
bit requested[F]; /* hand to REQ on completion (else: free) */
bit armed[F];     /* the deadline timer is armed */
bit repo[F];      /* OWNER's repossession vector */
bit lateclr[F];   /* BUG_CLEAR_MAPPED_LATE: mapped_on still to be cleared */

/* ---- ghosts: who holds what ------------------------------------------ */

byte ocap[F];    /* OWNER's root capability: generation + 1, 0 none */
byte rcap[F];    /* REQ's capability: generation + 1, 0 none */
bit asked[F];    /* REQ sent REVOKE_REQ for f */
bit got[F];      /* REQ received f (REVOKE_ACK) */
bit inflight[F]; /* f handed to REQ, its REVOKE_ACK not yet received */

/* ---- the properties (see docs/revocation-model.md) ------------------- */

#define REACHABLE_STATE(f) (pot[f].state == S_OWNED || pot[f].state == S_REVOKING)
/* a PTE or TLB entry is for the frame's current incarnation */
#define ENTRY_OK(t, f) ((t) == 0 || ((t) == TAG(pot[f].owner, pot[f].gen) && REACHABLE_STATE(f)))
#define TLB_OK_CF(c, f) (ENTRY_OK(pte[K_##c##_##f], f) && ENTRY_OK(tlb[K_##c##_##f], f))
/* a PTE or TLB entry on core c is covered by c's bit in the shootdown set */
#define COVER_OK_CF(c, f) ((pte[K_##c##_##f] == 0 && tlb[K_##c##_##f] == 0) || (pot[f].mapped_on & (1 << c)))
/* IX(c, f) for literal c and f, precomputed: spin's LTL parser limits how
 * long a formula may be */
#define K_0_0 0
#define K_0_1 1
#define K_1_0 2
#define K_1_1 3
#define K_2_0 4
#define K_2_1 5
#define K_3_0 6
#define K_3_1 7

#if N == 2
#define ALL_CF(P) (P(0, 0) && P(0, 1) && P(1, 0) && P(1, 1))
#elif N == 3
#define ALL_CF(P) (P(0, 0) && P(0, 1) && P(1, 0) && P(1, 1) && P(2, 0) && P(2, 1))
#elif N == 4
#define ALL_CF(P) (P(0, 0) && P(0, 1) && P(1, 0) && P(1, 1) && P(2, 0) && P(2, 1) && P(3, 0) && P(3, 1))
#else
#error "N must be 2, 3 or 4"
#endif
#define ALL_F(P) (P(0) && P(1))

#define LIVE(cap, f) ((cap) == pot[f].gen + 1)
#define CLEAN_C(c, f) (pte[IX(c, f)] == 0 && tlb[IX(c, f)] == 0)
#if N == 2
#define CLEAN(f) (CLEAN_C(0, f) && CLEAN_C(1, f))
#elif N == 3
#define CLEAN(f) (CLEAN_C(0, f) && CLEAN_C(1, f) && CLEAN_C(2, f))
#else
#define CLEAN(f) (CLEAN_C(0, f) && CLEAN_C(1, f) && CLEAN_C(2, f) && CLEAN_C(3, f))
#endif

/* every frame is free and unowned; or owned by an environment that holds a
 * live capability to it (or whose REVOKE_ACK is on its way); or being
 * revoked from OWNER with the home core's record driving it. And a frame
 * the requester received stays the requester's (it never gives one back). */
#define NOT_LOST(f) \
	(((pot[f].state == S_FREE && pot[f].owner == NOBODY) || \
	  (pot[f].state == S_OWNED && pot[f].owner == OWNER && LIVE(ocap[f], f)) || \
	  (pot[f].state == S_OWNED && pot[f].owner == REQ && (LIVE(rcap[f], f) || inflight[f])) || \
	  (pot[f].state == S_REVOKING && pot[f].owner == OWNER && phase[f] != IDLE)) && \
	 (rcap[f] == 0 || (LIVE(rcap[f], f) && pot[f].owner == REQ)))
/* at most one environment holds a live capability to a frame, and it is the
 * frame's owner in the table */
#define ONE_OWNER(f) \
	(!(LIVE(ocap[f], f) && LIVE(rcap[f], f)) && \
	 (!LIVE(ocap[f], f) || pot[f].owner == OWNER) && \
	 (!LIVE(rcap[f], f) || pot[f].owner == REQ))

#define TLB_SAFE ALL_CF(TLB_OK_CF)
#define MAPPED_COVER ALL_CF(COVER_OK_CF)
#define NO_LOST ALL_F(NOT_LOST)
#define NO_TWO_OWNERS ALL_F(ONE_OWNER)

/* safety */
ltl tlb_safe { [] TLB_SAFE }
ltl mapped_cover { [] MAPPED_COVER }
ltl no_lost { [] NO_LOST }
ltl one_owner { [] NO_TWO_OWNERS }
/* progress (under weak fairness) */
ltl progress_request { [] (((asked[0] == 1) -> <> (got[0] == 1)) && ((asked[1] == 1) -> <> (got[1] == 1))) }
ltl progress_teardown { [] (((phase[0] != IDLE) -> <> (phase[0] == IDLE)) && ((phase[1] != IDLE) -> <> (phase[1] == IDLE))) }
/* vacuity: each of these must FAIL, or the model never takes that path.
 * Built on their own (-DVACUITY): spin's partial-order reduction treats a
 * statement as visible when it touches a variable some claim reads, so
 * these would cost every other run states. */
#ifdef VACUITY
ltl reach_abort { [] !(repo[0] == 1 && got[0] == 1 && pot[0].owner == REQ) } /* the abort hands over */
#if N >= 3
ltl reach_remote_shootdown { [] !(phase[0] == SHOOTING && pending[0] != 0 && tlb[IX(2, 0)] != 0) }
#endif
#endif

/* Inline assertions (the handover check). Runs that check one ltl property
 * leave them out (-DNO_ASSERT): pan's -A would silence the claim as well. */
#ifdef NO_ASSERT
#define ASSERT(x) skip
#else
#define ASSERT(x) assert(x)
#endif

/* ---- kernel helpers --------------------------------------------------- */

/* A send. The assertion says a sender never finds its ring full, so in this
 * configuration no kernel ever waits to send (and QCAP is big enough); with
 * NO_ASSERT a full ring makes the sender wait, as a blocking send would. */
#define SEND(ch, k, f, g) ASSERT(len(ch) < QCAP); ch!k, f, g

/* BUG_IRQ_SHOOTDOWN: messages on cores other than H are handled in the
 * interrupt handler, whatever the core's kernel was doing. */
#ifdef BUG_IRQ_SHOOTDOWN
#define KMSG_GUARD(c) (c != H || klock[c] == 0)
#define KMSG_TAKE(c) if :: c == H -> klock[c] = 1 :: else -> skip fi
#define KMSG_DROP(c) if :: c == H -> klock[c] = 0 :: else -> skip fi
#else
#define KMSG_GUARD(c) (klock[c] == 0)
#define KMSG_TAKE(c) klock[c] = 1
#define KMSG_DROP(c) klock[c] = 0
#endif

#if N == 2
#define HASMSG(c) (len(Q(0, c)) > 0 || len(Q(1, c)) > 0)
#elif N == 3
#define HASMSG(c) (len(Q(0, c)) > 0 || len(Q(1, c)) > 0 || len(Q(2, c)) > 0)
#else
#define HASMSG(c) (len(Q(0, c)) > 0 || len(Q(1, c)) > 0 || len(Q(2, c)) > 0 || len(Q(3, c)) > 0)
#endif

/* Take one message from any non-empty ring into core c (any polling order). */
inline recv_any(c, m, f, g, src)
{
	if
	:: Q(0, c)?m, f, g -> src = 0
	:: Q(1, c)?m, f, g -> src = 1
#if N >= 3
	:: Q(2, c)?m, f, g -> src = 2
#endif
#if N >= 4
	:: Q(3, c)?m, f, g -> src = 3
#endif
	fi
}

inline genbump(f)
{
#ifndef BUG_NO_GEN_BUMP
	pot[f].gen = pot[f].gen + 1
#else
	skip
#endif
}

/* All SHOOTDOWN_ACKs are in (or none was needed): finish on H. */
inline complete(f)
{
	ASSERT(phase[f] == SHOOTING && pot[f].state == S_REVOKING);
#ifndef BUG_CLEAR_MAPPED_LATE
	pot[f].mapped_on = 0; /* while REVOKING: no one can map it meanwhile */
#else
	lateclr[f] = 1;
#endif
	if
	:: forced[f] -> repo[f] = 1; forced[f] = 0 /* then the repossession upcall */
	:: else -> skip
	fi;
	phase[f] = IDLE;
	genbump(f);
	if
	:: requested[f] ->
		requested[f] = 0;
		/* hand over: one CAS REVOKING(OWNER, g) -> OWNED(REQ, g + 1) */
		pot[f].owner = REQ;
		pot[f].state = S_OWNED;
		inflight[f] = 1;
#ifndef BUG_NO_ACK_WAIT /* that variant is caught by tlb_safe instead */
		ASSERT(CLEAN(f)); /* handed over: mapped and cached nowhere */
#endif
		SEND(Q(H, R), REVOKE_ACK, f, pot[f].gen)
	:: else ->
		pot[f].owner = NOBODY;
		pot[f].state = S_FREE
	fi
}

/* Start taking f back (release syscall or deadline), on H with klock[H]. */
inline teardown(f, force)
{
	pot[f].state = S_REVOKING; /* CAS first: no new mapping from here on */
	phase[f] = SHOOTING;
	forced[f] = force;
	armed[f] = 0;
	/* unmap by force: every PTE of f, in every address space, whatever
	 * core it runs on (page tables are in shared memory; the bindings are
	 * found through f's capabilities); then flush the local TLB */
	i = 0;
	do
	:: i < N -> pte[IX(i, f)] = 0; i++
	:: else -> break
	od;
	tlb[IX(H, f)] = 0;
	/* then read the shootdown set (after the CAS) */
	pending[f] = pot[f].mapped_on & ~(1 << H);
	i = 0;
	do
	:: i < N ->
		if
		:: i != H && (pending[f] & (1 << i)) -> SEND(Q(H, i), SHOOTDOWN, f, pot[f].gen)
		:: else -> skip
		fi;
		i++
	:: else -> break
	od;
#ifdef BUG_NO_ACK_WAIT
	pending[f] = 0;
#endif
	if
	:: pending[f] == 0 -> complete(f)
	:: else -> skip
	fi
}

/* BUG_CLEAR_MAPPED_LATE: the mapped-on set is cleared in a later step
 * (the kernel still busy), then the kernel lets go. KDONE(c) ends the
 * atomic step of a kernel action that may complete a revocation. */
#ifdef BUG_CLEAR_MAPPED_LATE
#define KDONE(c) skip
#define LATE_CLEAR_STEP(c) \
	atomic { \
		if :: lateclr[0] -> pot[0].mapped_on = 0; lateclr[0] = 0 :: else -> skip fi; \
		if :: lateclr[1] -> pot[1].mapped_on = 0; lateclr[1] = 0 :: else -> skip fi; \
		klock[c] = 0 \
	}
#else
#define KDONE(c) klock[c] = 0
#define LATE_CLEAR_STEP(c)
#endif

/* the map path: may install a mapping of f on core c for the holder of a
 * capability (who, cg + 1); klock[c] is held by the caller throughout. */
#ifdef BUG_GEN_ONLY_CHECK
#define MAPPABLE(f, cg) (pot[f].gen == (cg))
#else
#define MAPPABLE(f, cg) (pot[f].state == S_OWNED && pot[f].gen == (cg))
#endif

inline map(c, f, who, cg, ok)
{
#ifndef BUG_MAP_CHECK_FIRST
	atomic { pot[f].mapped_on = pot[f].mapped_on | (1 << c) } /* note first */
	atomic { ok = MAPPABLE(f, cg) }                                /* then check */
	atomic {
		if
		:: ok && pte[IX(c, f)] == 0 -> pte[IX(c, f)] = TAG(who, cg) /* then install */
		:: else -> skip
		fi;
		ok = 0
	}
#else
	atomic { ok = MAPPABLE(f, cg) }
	atomic { pot[f].mapped_on = pot[f].mapped_on | (1 << c) }
	atomic {
		if
		:: ok && pte[IX(c, f)] == 0 -> pte[IX(c, f)] = TAG(who, cg)
		:: else -> skip
		fi;
		ok = 0
	}
#endif
}

/* user code runs: a step of this process that changes nothing (a stutter,
 * so it adds no state; written as a condition because pan rejects a literal
 * skip that loops on itself). It lets a run spend forever in user code, so
 * that the progress properties need the fairness assumptions. */
#define COMPUTE(v) ((v) == (v))

/* local unmap: PTE gone, invlpg; the mapped-on bit stays */
#define UNMAP(c, f) pte[IX(c, f)] = 0; tlb[IX(c, f)] = 0

/* ---- processes -------------------------------------------------------- */

/* The kernel instance on core c: takes messages from its inbound rings. */
proctype Kernel(byte c)
{
	mtype m;
	byte f, g, src;
end:
	do
	:: atomic {
		KMSG_GUARD(c) && HASMSG(c) -> KMSG_TAKE(c);
		recv_any(c, m, f, g, src);
		if
		:: m == REVOKE_REQ -> /* on H, from R: "give back frame f" */
			if
			:: pot[f].state == S_OWNED && pot[f].owner == OWNER && phase[f] == IDLE ->
				pot[f].state = S_REVOKING; /* CAS OWNED -> REVOKING */
				phase[f] = ASKED;
				requested[f] = 1;
#ifndef BUG_NO_DEADLINE
				armed[f] = 1; /* the deadline starts when the request is taken */
#endif
				/* ... and the upcall to the libOS: "give back frame f" */
			:: pot[f].state == S_REVOKING && pot[f].owner == OWNER ->
				requested[f] = 1 /* a release is under way: hand it over at the end */
			:: pot[f].state == S_FREE -> /* released meanwhile: claim it for REQ */
				pot[f].state = S_OWNED;
				pot[f].owner = REQ;
				inflight[f] = 1;
				SEND(Q(H, R), REVOKE_ACK, f, pot[f].gen)
			:: pot[f].state == S_OWNED && pot[f].owner == REQ -> /* took it itself */
				SEND(Q(H, R), REVOKE_ACK, f, pot[f].gen)
			:: else -> skip
			fi
		:: m == SHOOTDOWN -> /* unmap f from every local address space (again:
		                      * a map syscall may have installed it since), flush, ack */
#ifndef BUG_FLUSH_ONLY
			pte[IX(c, f)] = 0;
#endif
			tlb[IX(c, f)] = 0;
			SEND(Q(c, src), SHOOTDOWN_ACK, f, g)
		:: m == SHOOTDOWN_ACK -> /* on H */
			pending[f] = pending[f] & ~(1 << src);
			if
			:: pending[f] == 0 && phase[f] == SHOOTING -> complete(f)
			:: else -> skip
			fi
		:: m == REVOKE_ACK -> /* on R: the frame is REQ's now */
			inflight[f] = 0;
			got[f] = 1;
			rcap[f] = g + 1
		fi;
		m = 0; f = 0; g = 0; src = 0;
#ifdef BUG_CLEAR_MAPPED_LATE
		skip /* the late clear below lets go */
#else
		KMSG_DROP(c)
#endif
	}
	LATE_CLEAR_STEP(c)
	od
}

/* The deadline timer on H: may fire any time after the request was taken
 * (armed when H takes the REVOKE_REQ), at most once per request. */
proctype Timer()
{
	byte i;
end:
	do
	:: atomic {
		klock[H] == 0 && armed[0] && phase[0] == ASKED -> klock[H] = 1;
		teardown(0, 1);
		i = 0;
		KDONE(H)
	   }
	   LATE_CLEAR_STEP(H)
	:: atomic {
		klock[H] == 0 && armed[1] && phase[1] == ASKED -> klock[H] = 1;
		teardown(1, 1);
		i = 0;
		KDONE(H)
	   }
	   LATE_CLEAR_STEP(H)
	od
}

/* The owner's libOS on H: cooperates, is slow, never answers, returns a
 * frame it does not own, returns a frame twice, returns a frame while it is
 * being revoked, maps and unmaps (also during a shootdown): any LIBOS_OPS
 * syscalls in any order, then it computes forever. */
proctype LibOS()
{
	byte f, i, ops = LIBOS_OPS;
	bit ok;
end:
	do
	:: atomic { /* release frame f (the "return frames" syscall) */
		ops > 0 && klock[H] == 0 -> klock[H] = 1;
		ops--;
		if :: f = 0 :: f = 1 fi;
		if
#ifndef BUG_NO_OWNER_CHECK
		:: LIVE(ocap[f], f) && pot[f].owner == OWNER && phase[f] != SHOOTING
#else
		:: pot[f].state != S_FREE && phase[f] != SHOOTING
#endif
			-> teardown(f, 0)
#ifdef BUG_RELEASE_IN_TEARDOWN
		:: LIVE(ocap[f], f) && pot[f].owner == OWNER && phase[f] == SHOOTING ->
			pot[f].state = S_FREE; /* CAS REVOKING(OWNER, g) -> FREE(g + 1) */
			pot[f].owner = NOBODY;
			pot[f].gen = pot[f].gen + 1;
			pot[f].mapped_on = 0
#endif
		:: else -> skip /* E_STALE, E_PERM or E_BUSY: nothing changes */
		fi;
		i = 0;
		f = 0;
		KDONE(H)
	   }
	   LATE_CLEAR_STEP(H)
	:: atomic { /* map one of its frames on H */
		ops > 0 && klock[H] == 0 -> klock[H] = 1;
		ops--;
		if :: f = 0 :: f = 1 fi
	   }
	   map(H, f, OWNER, ocap[f] - 1, ok);
	   atomic { klock[H] = 0; f = 0 }
	:: atomic { /* unmap one (also while it is being shot down) */
		ops > 0 && klock[H] == 0 -> ops--;
		if :: UNMAP(H, 0) :: UNMAP(H, 1) fi
	   }
	:: COMPUTE(ops) /* run user code (or ignore the upcall) */
	od
}

/* An environment on core c holding capabilities derived from OWNER's, at
 * OWNER's generation 0: it may map and unmap OWNER's frames on core c. */
proctype Sharer(byte c)
{
	byte f, ops = SHARE_OPS;
	bit ok;
end:
	do
	:: atomic {
		ops > 0 && klock[c] == 0 -> klock[c] = 1;
		ops--;
		if :: f = 0 :: f = 1 fi
	   }
	   map(c, f, OWNER, 0, ok);
	   atomic { klock[c] = 0; f = 0 }
	:: atomic {
		ops > 0 && klock[c] == 0 -> ops--;
		if :: UNMAP(c, 0) :: UNMAP(c, 1) fi
	   }
	:: COMPUTE(ops)
	od
}

/* The requester on R: asks H for frame 0 (and perhaps frame 1), may claim a
 * free frame by name, maps and unmaps what it holds. */
proctype Requester()
{
	byte f, ops = REQ_OPS;
	bit ok;
	atomic { klock[R] == 0 -> asked[0] = 1; SEND(Q(R, H), REVOKE_REQ, 0, 0) }
end:
	do
	:: atomic {
		klock[R] == 0 && !asked[1] && rcap[1] == 0 -> asked[1] = 1;
		SEND(Q(R, H), REVOKE_REQ, 1, 0)
	   }
	:: atomic { /* claim a free frame by name: CAS FREE -> OWNED(REQ) */
		ops > 0 && klock[R] == 0 && (pot[0].state == S_FREE || pot[1].state == S_FREE) -> ops--;
		if
		:: pot[0].state == S_FREE -> f = 0
		:: pot[1].state == S_FREE -> f = 1
		fi;
		pot[f].state = S_OWNED;
		pot[f].owner = REQ;
		rcap[f] = pot[f].gen + 1;
		f = 0
	   }
	:: atomic { /* map a frame it holds */
		ops > 0 && klock[R] == 0 && (rcap[0] != 0 || rcap[1] != 0) -> klock[R] = 1;
		ops--;
		if
		:: rcap[0] != 0 -> f = 0
		:: rcap[1] != 0 -> f = 1
		fi
	   }
	   map(R, f, REQ, rcap[f] - 1, ok);
	   atomic { klock[R] = 0; f = 0 }
	:: atomic {
		ops > 0 && klock[R] == 0 && (rcap[0] != 0 || rcap[1] != 0) -> ops--;
		if
		:: rcap[0] != 0 -> UNMAP(R, 0)
		:: rcap[1] != 0 -> UNMAP(R, 1)
		fi
	   }
	:: COMPUTE(ops)
	od
}

/* The MMU: a core may cache a translation whenever its page table has one. */
#define FILL(c, f) :: atomic { pte[IX(c, f)] != 0 && tlb[IX(c, f)] == 0 -> tlb[IX(c, f)] = pte[IX(c, f)] }
proctype MMU()
{
end:
	do
	FILL(0, 0)
	FILL(0, 1)
	FILL(1, 0)
	FILL(1, 1)
#if N >= 3
	FILL(2, 0)
	FILL(2, 1)
#endif
#if N >= 4
	FILL(3, 0)
	FILL(3, 1)
#endif
	od
}

init
{
	byte c;
	atomic {
		/* OWNER owns both frames at generation 0, mapped on its home core */
		pot[0].state = S_OWNED; pot[0].owner = OWNER; pot[0].mapped_on = 1 << H;
		pot[1].state = S_OWNED; pot[1].owner = OWNER; pot[1].mapped_on = 1 << H;
		ocap[0] = 1; ocap[1] = 1;
		pte[IX(H, 0)] = TAG(OWNER, 0);
		pte[IX(H, 1)] = TAG(OWNER, 0);
		c = 0;
		do
		:: c < N -> run Kernel(c); c++
		:: else -> break
		od;
		c = SHARER_FIRST;
		do
		:: c < N -> run Sharer(c); c++
		:: else -> break
		od;
		run Timer();
		run LibOS();
		run Requester();
#ifndef NO_MMU
		run MMU(); /* nothing reads a TLB: progress runs may leave it out */
#endif
		c = 0
	}
}
