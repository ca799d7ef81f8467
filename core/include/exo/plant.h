/*
 * Planted bugs: the fuzzer's self-test (fuzz/README.md). A build with
 * -DEXO_PLANT=N plants bug N, one at a time; the default, 0, plants none and
 * every PLANTED() test folds to false at compile time. Each bug is a
 * realistic slip in the capability and ownership code (1..6) or the eBPF
 * verifier (7..) that a good fuzzer with a good oracle must find, crash or
 * no crash.
 */
#pragma once

#ifndef EXO_PLANT
#define EXO_PLANT 0
#endif

enum plant {
	PLANT_NONE = 0,
	PLANT_MINT_RIGHTS = 1,	       /* mint keeps the rights asked for, not their intersection */
	PLANT_NO_GEN_CHECK = 2,	       /* capability use skips the generation check */
	PLANT_REVOKE_SHALLOW = 3,      /* revoke deletes children but misses grandchildren */
	PLANT_DESTROY_DOUBLE_FREE = 4, /* destroy releases page-table frames twice */
	PLANT_FRAME_BOUNDS = 5,	       /* frame number bounds check off by one */
	PLANT_MAP_NO_RIGHT = 6,	       /* map does not require the map right */
	/* The eBPF verifier's (core/bpf.c; found by fuzz/bpf_fuzz.c, not cap_fuzz). */
	PLANT_BPF_REGION_STORE = 7, /* a region store's bound check forgets the store's size */
	PLANT_BPF_JUMP_END = 8,	    /* a jump target may be one past the last instruction */
	PLANT_BPF_UNINIT_SRC = 9,   /* an ALU source register is not checked for initialization */
	PLANT_COUNT
};

#define PLANTED(p) (EXO_PLANT == (p))
