/*
 * Interrupt and exception entry. One stub per vector pushes an error code
 * (0 where the CPU pushes none) and the vector number, then trap_common
 * saves the general registers as a struct trap_frame (arch/x86.h) and calls
 * trap_dispatch(frame). swapgs when the trap came from user mode, so %gs
 * always points at the core's struct percpu inside the kernel.
 */
#include "asm-offsets.h"

	.text

.macro STUB vec, has_error
	.balign 16
trap_stub_\vec:
	.if \has_error == 0
	pushq	$0
	.endif
	pushq	$\vec
	.if \vec < 32 && \vec != 2 && \vec != 8 && \vec != 18
	jmp	trap_user_fault		/* an exception an environment may handle itself */
	.else
	jmp	trap_common
	.endif
.endm

	STUB 0, 0
	STUB 1, 0
	STUB 2, 0
	STUB 3, 0
	STUB 4, 0
	STUB 5, 0
	STUB 6, 0
	STUB 7, 0
	STUB 8, 1
	STUB 9, 0
	STUB 10, 1
	STUB 11, 1
	STUB 12, 1
	STUB 13, 1
	STUB 14, 1
	STUB 15, 0
	STUB 16, 0
	STUB 17, 1
	STUB 18, 0
	STUB 19, 0
	STUB 20, 0
	STUB 21, 1
	STUB 22, 0
	STUB 23, 0
	STUB 24, 0
	STUB 25, 0
	STUB 26, 0
	STUB 27, 0
	STUB 28, 0
	STUB 29, 1
	STUB 30, 1
	STUB 31, 0
	STUB 32, 0
	STUB 33, 0
	STUB 34, 0
	STUB 35, 0
	STUB 36, 0
	STUB 37, 0
	STUB 38, 0
	STUB 39, 0
	STUB 40, 0
	STUB 41, 0
	STUB 42, 0
	STUB 43, 0
	STUB 44, 0
	STUB 45, 0
	STUB 46, 0
	STUB 47, 0
	STUB 48, 0
	STUB 49, 0
	STUB 50, 0
	STUB 51, 0
	STUB 52, 0
	STUB 53, 0
	STUB 54, 0
	STUB 55, 0
	STUB 56, 0
	STUB 57, 0
	STUB 58, 0
	STUB 59, 0
	STUB 60, 0
	STUB 61, 0
	STUB 62, 0
	STUB 63, 0
	STUB 64, 0
	STUB 65, 0
	STUB 66, 0
	STUB 67, 0
	STUB 68, 0
	STUB 69, 0
	STUB 70, 0
	STUB 71, 0
	STUB 72, 0
	STUB 73, 0
	STUB 74, 0
	STUB 75, 0
	STUB 76, 0
	STUB 77, 0
	STUB 78, 0
	STUB 79, 0
	STUB 80, 0
	STUB 81, 0
	STUB 82, 0
	STUB 83, 0
	STUB 84, 0
	STUB 85, 0
	STUB 86, 0
	STUB 87, 0
	STUB 88, 0
	STUB 89, 0
	STUB 90, 0
	STUB 91, 0
	STUB 92, 0
	STUB 93, 0
	STUB 94, 0
	STUB 95, 0
	STUB 96, 0
	STUB 97, 0
	STUB 98, 0
	STUB 99, 0
	STUB 100, 0
	STUB 101, 0
	STUB 102, 0
	STUB 103, 0
	STUB 104, 0
	STUB 105, 0
	STUB 106, 0
	STUB 107, 0
	STUB 108, 0
	STUB 109, 0
	STUB 110, 0
	STUB 111, 0
	STUB 112, 0
	STUB 113, 0
	STUB 114, 0
	STUB 115, 0
	STUB 116, 0
	STUB 117, 0
	STUB 118, 0
	STUB 119, 0
	STUB 120, 0
	STUB 121, 0
	STUB 122, 0
	STUB 123, 0
	STUB 124, 0
	STUB 125, 0
	STUB 126, 0
	STUB 127, 0
	STUB 128, 0
	STUB 129, 0
	STUB 130, 0
	STUB 131, 0
	STUB 132, 0
	STUB 133, 0
	STUB 134, 0
	STUB 135, 0
	STUB 136, 0
	STUB 137, 0
	STUB 138, 0
	STUB 139, 0
	STUB 140, 0
	STUB 141, 0
	STUB 142, 0
	STUB 143, 0
	STUB 144, 0
	STUB 145, 0
	STUB 146, 0
	STUB 147, 0
	STUB 148, 0
	STUB 149, 0
	STUB 150, 0
	STUB 151, 0
	STUB 152, 0
	STUB 153, 0
	STUB 154, 0
	STUB 155, 0
	STUB 156, 0
	STUB 157, 0
	STUB 158, 0
	STUB 159, 0
	STUB 160, 0
	STUB 161, 0
	STUB 162, 0
	STUB 163, 0
	STUB 164, 0
	STUB 165, 0
	STUB 166, 0
	STUB 167, 0
	STUB 168, 0
	STUB 169, 0
	STUB 170, 0
	STUB 171, 0
	STUB 172, 0
	STUB 173, 0
	STUB 174, 0
	STUB 175, 0
	STUB 176, 0
	STUB 177, 0
	STUB 178, 0
	STUB 179, 0
	STUB 180, 0
	STUB 181, 0
	STUB 182, 0
	STUB 183, 0
	STUB 184, 0
	STUB 185, 0
	STUB 186, 0
	STUB 187, 0
	STUB 188, 0
	STUB 189, 0
	STUB 190, 0
	STUB 191, 0
	STUB 192, 0
	STUB 193, 0
	STUB 194, 0
	STUB 195, 0
	STUB 196, 0
	STUB 197, 0
	STUB 198, 0
	STUB 199, 0
	STUB 200, 0
	STUB 201, 0
	STUB 202, 0
	STUB 203, 0
	STUB 204, 0
	STUB 205, 0
	STUB 206, 0
	STUB 207, 0
	STUB 208, 0
	STUB 209, 0
	STUB 210, 0
	STUB 211, 0
	STUB 212, 0
	STUB 213, 0
	STUB 214, 0
	STUB 215, 0
	STUB 216, 0
	STUB 217, 0
	STUB 218, 0
	STUB 219, 0
	STUB 220, 0
	STUB 221, 0
	STUB 222, 0
	STUB 223, 0
	STUB 224, 0
	STUB 225, 0
	STUB 226, 0
	STUB 227, 0
	STUB 228, 0
	STUB 229, 0
	STUB 230, 0
	STUB 231, 0
	STUB 232, 0
	STUB 233, 0
	STUB 234, 0
	STUB 235, 0
	STUB 236, 0
	STUB 237, 0
	STUB 238, 0
	STUB 239, 0
	STUB 240, 0
	STUB 241, 0
	STUB 242, 0
	STUB 243, 0
	STUB 244, 0
	STUB 245, 0
	STUB 246, 0
	STUB 247, 0
	STUB 248, 0
	STUB 249, 0
	STUB 250, 0
	STUB 251, 0
	STUB 252, 0
	STUB 253, 0
	STUB 254, 0
	STUB 255, 0

/*
 * An exception from user mode, delivered to the environment's fault handler
 * through its pinned fault frame (exo/env.h fault_pin; trap.c's
 * deliver_fault is the same in C, and the path for everything this one
 * does not take): no trap frame, no C. The checks are deliver_fault's: a
 * handler, the stack pointer not on the exception stack, a pin. The frame
 * is written with fault_pin_busy set (env_fault_unpin waits on it), then
 * the trap returns into the handler: rip its entry, rsp below the frame,
 * rdi the frame, TF and DF clear. Anything else: trap_common.
 *
 * Stack after the three pushes below: rcx, rbx, rax, vector, error, then
 * the CPU's rip, cs, rflags, rsp, ss.
 */
#define F_VEC 24
#define F_ERR 32
#define F_RIP 40
#define F_CS 48
#define F_RFLAGS 56
#define F_RSP 64
trap_user_fault:
	testb	$3, 24(%rsp)		/* CS: from the kernel, the usual path */
	jz	trap_common
	swapgs
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	movq	%gs:PERCPU_CURRENT, %rbx
	testq	%rbx, %rbx
	jz	.Luf_slow
	cmpq	$0, ENV_FAULT_ENTRY(%rbx)
	je	.Luf_slow
	/* a fault inside the handler: fault_stack < rsp <= fault_stack + size */
	movq	F_RSP(%rsp), %rax
	subq	ENV_FAULT_STACK(%rbx), %rax
	decq	%rax
	cmpq	ENV_FAULT_STACK_SIZE(%rbx), %rax
	jb	.Luf_slow
	movl	$1, %eax
	xchgl	%eax, ENV_FAULT_PIN_BUSY(%rbx)	/* busy, then read the pin (Dekker) */
	movq	ENV_FAULT_PIN(%rbx), %rax
	testq	%rax, %rax
	jz	.Luf_unbusy_slow
	/* struct upcall_fault (exo/abi.h): vector, error, addr, then struct user_regs */
	movq	F_VEC(%rsp), %rcx
	movq	%rcx, 0(%rax)
	cmpq	$14, %rcx
	movq	F_ERR(%rsp), %rcx
	movq	%rcx, 8(%rax)
	movl	$0, %ecx
	jne	1f
	movq	%cr2, %rcx
1:	movq	%rcx, 16(%rax)
	movq	16(%rsp), %rcx		/* rax */
	movq	%rcx, 24(%rax)
	movq	8(%rsp), %rcx		/* rbx */
	movq	%rcx, 32(%rax)
	movq	0(%rsp), %rcx		/* rcx */
	movq	%rcx, 40(%rax)
	movq	%rdx, 48(%rax)
	movq	%rsi, 56(%rax)
	movq	%rdi, 64(%rax)
	movq	%rbp, 72(%rax)
	movq	%r8, 80(%rax)
	movq	%r9, 88(%rax)
	movq	%r10, 96(%rax)
	movq	%r11, 104(%rax)
	movq	%r12, 112(%rax)
	movq	%r13, 120(%rax)
	movq	%r14, 128(%rax)
	movq	%r15, 136(%rax)
	movq	F_RIP(%rsp), %rcx
	movq	%rcx, 144(%rax)
	movq	F_RSP(%rsp), %rcx
	movq	%rcx, 152(%rax)
	movq	F_RFLAGS(%rsp), %rcx
	movq	%rcx, 160(%rax)
	movl	$0, ENV_FAULT_PIN_BUSY(%rbx)	/* written: the page may go now */
	/* into the handler, as deliver_fault sets it up */
	movq	ENV_FAULT_PIN_UVA(%rbx), %rdi
	leaq	-8(%rdi), %rcx
	movq	%rcx, F_RSP(%rsp)
	movq	ENV_FAULT_ENTRY(%rbx), %rcx
	movq	%rcx, F_RIP(%rsp)
	andq	$~0x500, F_RFLAGS(%rsp)	/* TF, DF */
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp		/* vector and error code */
	swapgs
	iretq
.Luf_unbusy_slow:
	movl	$0, ENV_FAULT_PIN_BUSY(%rbx)
.Luf_slow:
	popq	%rcx
	popq	%rbx
	popq	%rax
	swapgs				/* trap_common swaps again */

trap_common:
	testb	$3, 24(%rsp)		/* CS of the interrupted context */
	jz	1f
	swapgs
	pushfq				/* user code may have set AC: SMAP needs it clear */
	andq	$~0x40000, (%rsp)
	popfq
1:	cld				/* user code may have set DF; C expects it clear */
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, %rdi
	xorl	%ebp, %ebp		/* backtraces stop at the trap */
	call	trap_dispatch
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp		/* vector and error code */
	testb	$3, 8(%rsp)
	jz	2f
	swapgs
2:	iretq

	.section .rodata
	.balign 8
	.globl trap_stubs
trap_stubs:
	.quad trap_stub_0
	.quad trap_stub_1
	.quad trap_stub_2
	.quad trap_stub_3
	.quad trap_stub_4
	.quad trap_stub_5
	.quad trap_stub_6
	.quad trap_stub_7
	.quad trap_stub_8
	.quad trap_stub_9
	.quad trap_stub_10
	.quad trap_stub_11
	.quad trap_stub_12
	.quad trap_stub_13
	.quad trap_stub_14
	.quad trap_stub_15
	.quad trap_stub_16
	.quad trap_stub_17
	.quad trap_stub_18
	.quad trap_stub_19
	.quad trap_stub_20
	.quad trap_stub_21
	.quad trap_stub_22
	.quad trap_stub_23
	.quad trap_stub_24
	.quad trap_stub_25
	.quad trap_stub_26
	.quad trap_stub_27
	.quad trap_stub_28
	.quad trap_stub_29
	.quad trap_stub_30
	.quad trap_stub_31
	.quad trap_stub_32
	.quad trap_stub_33
	.quad trap_stub_34
	.quad trap_stub_35
	.quad trap_stub_36
	.quad trap_stub_37
	.quad trap_stub_38
	.quad trap_stub_39
	.quad trap_stub_40
	.quad trap_stub_41
	.quad trap_stub_42
	.quad trap_stub_43
	.quad trap_stub_44
	.quad trap_stub_45
	.quad trap_stub_46
	.quad trap_stub_47
	.quad trap_stub_48
	.quad trap_stub_49
	.quad trap_stub_50
	.quad trap_stub_51
	.quad trap_stub_52
	.quad trap_stub_53
	.quad trap_stub_54
	.quad trap_stub_55
	.quad trap_stub_56
	.quad trap_stub_57
	.quad trap_stub_58
	.quad trap_stub_59
	.quad trap_stub_60
	.quad trap_stub_61
	.quad trap_stub_62
	.quad trap_stub_63
	.quad trap_stub_64
	.quad trap_stub_65
	.quad trap_stub_66
	.quad trap_stub_67
	.quad trap_stub_68
	.quad trap_stub_69
	.quad trap_stub_70
	.quad trap_stub_71
	.quad trap_stub_72
	.quad trap_stub_73
	.quad trap_stub_74
	.quad trap_stub_75
	.quad trap_stub_76
	.quad trap_stub_77
	.quad trap_stub_78
	.quad trap_stub_79
	.quad trap_stub_80
	.quad trap_stub_81
	.quad trap_stub_82
	.quad trap_stub_83
	.quad trap_stub_84
	.quad trap_stub_85
	.quad trap_stub_86
	.quad trap_stub_87
	.quad trap_stub_88
	.quad trap_stub_89
	.quad trap_stub_90
	.quad trap_stub_91
	.quad trap_stub_92
	.quad trap_stub_93
	.quad trap_stub_94
	.quad trap_stub_95
	.quad trap_stub_96
	.quad trap_stub_97
	.quad trap_stub_98
	.quad trap_stub_99
	.quad trap_stub_100
	.quad trap_stub_101
	.quad trap_stub_102
	.quad trap_stub_103
	.quad trap_stub_104
	.quad trap_stub_105
	.quad trap_stub_106
	.quad trap_stub_107
	.quad trap_stub_108
	.quad trap_stub_109
	.quad trap_stub_110
	.quad trap_stub_111
	.quad trap_stub_112
	.quad trap_stub_113
	.quad trap_stub_114
	.quad trap_stub_115
	.quad trap_stub_116
	.quad trap_stub_117
	.quad trap_stub_118
	.quad trap_stub_119
	.quad trap_stub_120
	.quad trap_stub_121
	.quad trap_stub_122
	.quad trap_stub_123
	.quad trap_stub_124
	.quad trap_stub_125
	.quad trap_stub_126
	.quad trap_stub_127
	.quad trap_stub_128
	.quad trap_stub_129
	.quad trap_stub_130
	.quad trap_stub_131
	.quad trap_stub_132
	.quad trap_stub_133
	.quad trap_stub_134
	.quad trap_stub_135
	.quad trap_stub_136
	.quad trap_stub_137
	.quad trap_stub_138
	.quad trap_stub_139
	.quad trap_stub_140
	.quad trap_stub_141
	.quad trap_stub_142
	.quad trap_stub_143
	.quad trap_stub_144
	.quad trap_stub_145
	.quad trap_stub_146
	.quad trap_stub_147
	.quad trap_stub_148
	.quad trap_stub_149
	.quad trap_stub_150
	.quad trap_stub_151
	.quad trap_stub_152
	.quad trap_stub_153
	.quad trap_stub_154
	.quad trap_stub_155
	.quad trap_stub_156
	.quad trap_stub_157
	.quad trap_stub_158
	.quad trap_stub_159
	.quad trap_stub_160
	.quad trap_stub_161
	.quad trap_stub_162
	.quad trap_stub_163
	.quad trap_stub_164
	.quad trap_stub_165
	.quad trap_stub_166
	.quad trap_stub_167
	.quad trap_stub_168
	.quad trap_stub_169
	.quad trap_stub_170
	.quad trap_stub_171
	.quad trap_stub_172
	.quad trap_stub_173
	.quad trap_stub_174
	.quad trap_stub_175
	.quad trap_stub_176
	.quad trap_stub_177
	.quad trap_stub_178
	.quad trap_stub_179
	.quad trap_stub_180
	.quad trap_stub_181
	.quad trap_stub_182
	.quad trap_stub_183
	.quad trap_stub_184
	.quad trap_stub_185
	.quad trap_stub_186
	.quad trap_stub_187
	.quad trap_stub_188
	.quad trap_stub_189
	.quad trap_stub_190
	.quad trap_stub_191
	.quad trap_stub_192
	.quad trap_stub_193
	.quad trap_stub_194
	.quad trap_stub_195
	.quad trap_stub_196
	.quad trap_stub_197
	.quad trap_stub_198
	.quad trap_stub_199
	.quad trap_stub_200
	.quad trap_stub_201
	.quad trap_stub_202
	.quad trap_stub_203
	.quad trap_stub_204
	.quad trap_stub_205
	.quad trap_stub_206
	.quad trap_stub_207
	.quad trap_stub_208
	.quad trap_stub_209
	.quad trap_stub_210
	.quad trap_stub_211
	.quad trap_stub_212
	.quad trap_stub_213
	.quad trap_stub_214
	.quad trap_stub_215
	.quad trap_stub_216
	.quad trap_stub_217
	.quad trap_stub_218
	.quad trap_stub_219
	.quad trap_stub_220
	.quad trap_stub_221
	.quad trap_stub_222
	.quad trap_stub_223
	.quad trap_stub_224
	.quad trap_stub_225
	.quad trap_stub_226
	.quad trap_stub_227
	.quad trap_stub_228
	.quad trap_stub_229
	.quad trap_stub_230
	.quad trap_stub_231
	.quad trap_stub_232
	.quad trap_stub_233
	.quad trap_stub_234
	.quad trap_stub_235
	.quad trap_stub_236
	.quad trap_stub_237
	.quad trap_stub_238
	.quad trap_stub_239
	.quad trap_stub_240
	.quad trap_stub_241
	.quad trap_stub_242
	.quad trap_stub_243
	.quad trap_stub_244
	.quad trap_stub_245
	.quad trap_stub_246
	.quad trap_stub_247
	.quad trap_stub_248
	.quad trap_stub_249
	.quad trap_stub_250
	.quad trap_stub_251
	.quad trap_stub_252
	.quad trap_stub_253
	.quad trap_stub_254
	.quad trap_stub_255
