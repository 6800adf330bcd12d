// What rt0_go does the same way on every arm64 OS (Go's asm_arm64.s, whose rt0_go is one
// function for all of them): the start (argc/argv kept, SP aligned, g0's stack carved from the OS
// stack) and the end (check, args, osinit, schedinit, newproc(runtime_main), mstart). Each
// rt0_<os>_arm64.S defines SYM(name) (a symbol's name in its object format) and includes this
// file; between the two macros it does its own TLS setup, the one part that differs per OS.
// Assembler macros (.macro) and not C macros: Mach-O's arm64 assembler has no statement separator
// a one-line C macro could use.

// LOAD_ADDR reg, sym: reg = &sym. LOAD_WORD reg, sym: reg = sym. The relocation syntax is the
// object format's: Mach-O's @PAGE/@PAGEOFF, or ELF's (which COFF shares) :lo12:.
#ifdef __MACH__
.macro LOAD_ADDR reg, sym
	adrp	\reg, \sym@PAGE
	add	\reg, \reg, \sym@PAGEOFF
.endm
.macro LOAD_WORD reg, sym
	adrp	\reg, \sym@PAGE
	ldr	\reg, [\reg, \sym@PAGEOFF]
.endm
#else
.macro LOAD_ADDR reg, sym
	adrp	\reg, \sym
	add	\reg, \reg, :lo12:\sym
.endm
.macro LOAD_WORD reg, sym
	adrp	\reg, \sym
	ldr	\reg, [\reg, :lo12:\sym]
.endm
#endif

// rt0_go's start, with argc in x0 and argv in x1: keeps them in callee-saved x19/x20, aligns SP
// to 16, marks the outermost frame, and makes g0's stack the top 64 KB of the OS stack minus the
// 104 bytes Go leaves for rt0's own frame. Leaves x0 = &g0.
.macro RT0_GO_ENTRY
	mov	x19, x0				// argc
	mov	x20, x1				// argv
	mov	x9, sp
	and	x9, x9, #~15
	mov	sp, x9				// align SP to 16             (Go: AND $~15, RSP)
	mov	x29, xzr			// outermost frame
	mov	x30, xzr
	LOAD_ADDR x0, SYM(runtime_g0)		// x0 = &g0
	mov	x9, sp
	mov	x2, #(64*1024-104)
	sub	x1, x9, x2			// x1 = SP - 64 KB + 104      (Go: MOVD $(-64*1024+104)(RSP), R0)
	str	x1, [x0, #g_stack_lo]		// g0.stack.lo = x1
	str	x9, [x0, #g_stack_hi]		// g0.stack.hi = SP
.endm

// rt0_go's end, once TLS holds g0: the runtime's start, as Go's rt0_go calls it. mstart never
// returns; the code after the macro reports it if it does.
.macro RT0_GO_START
	bl	SYM(runtime_check)		// check                      (Go: BL runtime·check(SB))
	mov	x0, x19				// argc
	mov	x1, x20				// argv
	bl	SYM(runtime_args)		// args(argc, argv)           (Go: BL runtime·args(SB))
	bl	SYM(runtime_osinit)		// osinit                     (Go: BL runtime·osinit(SB))
	bl	SYM(runtime_schedinit)		// schedinit                  (Go: BL runtime·schedinit(SB))
	LOAD_WORD x0, SYM(runtime_mainPC)	// newproc(runtime_main)      (Go: MOVD $runtime·mainPC(SB), R0)
	bl	SYM(runtime_newproc)		//                            (Go: BL runtime·newproc(SB))
	bl	SYM(runtime_mstart)		// mstart: never returns      (Go: BL runtime·mstart(SB))
.endm
