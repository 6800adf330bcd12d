// What rt0_go does the same way on every arm OS (Go's asm_arm.s, whose rt0_go is one function
// for all of them): the start (argc/argv kept, SP aligned, g0's stack carved from the OS stack)
// and the end (check, args, osinit, schedinit, newproc(runtime_main), mstart). Written in the
// unified syntax ARM state (linux) and Thumb-2 (windows) both accept. Each rt0_<os>_arm.S
// includes this file; between the two macros it does its own TLS setup, the one part that
// differs per OS.

// LOAD_ADDR reg, sym: reg = &sym, from a movw/movt pair (no literal pool needed).
.macro LOAD_ADDR reg, sym
	movw	\reg, #:lower16:\sym
	movt	\reg, #:upper16:\sym
.endm

// rt0_go's start, with argc in r0 and argv in r1: keeps them in callee-saved r4/r5, aligns SP to
// 16, marks the outermost frame, and makes g0's stack the top 64 KB of the OS stack minus the 104
// bytes Go leaves for rt0's own frame. Leaves r0 = &g0.
.macro RT0_GO_ENTRY
	mov	r4, r0				// argc
	mov	r5, r1				// argv
	mov	r2, sp
	bic	r2, r2, #15
	mov	sp, r2				// align SP to 16
	mov	r11, #0				// outermost frame
	mov	lr, #0
	LOAD_ADDR r0, runtime_g0		// r0 = &g0
	mov	r2, sp
	movw	r3, #(64*1024-104)
	sub	r1, r2, r3			// r1 = SP - 64 KB + 104
	str	r1, [r0, #g_stack_lo]		// g0.stack.lo = r1
	str	r2, [r0, #g_stack_hi]		// g0.stack.hi = SP
.endm

// rt0_go's end, once TLS holds g0: the runtime's start, as Go's rt0_go calls it. mstart never
// returns; the code after the macro reports it if it does.
.macro RT0_GO_START
	bl	runtime_check			// check                      (Go: BL runtime·check(SB))
	mov	r0, r4				// argc
	mov	r1, r5				// argv
	bl	runtime_args			// args(argc, argv)           (Go: BL runtime·args(SB))
	bl	runtime_osinit			// osinit                     (Go: BL runtime·osinit(SB))
	bl	runtime_schedinit		// schedinit                  (Go: BL runtime·schedinit(SB))
	LOAD_ADDR r0, runtime_mainPC		// newproc(runtime_main)
	ldr	r0, [r0]
	bl	runtime_newproc			//                            (Go: BL runtime·newproc(SB))
	bl	runtime_mstart			// mstart: never returns      (Go: BL runtime·mstart(SB))
.endm
