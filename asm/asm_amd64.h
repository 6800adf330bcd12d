// What rt0_go does the same way on every amd64 OS (Go's asm_amd64.s, whose rt0_go is one
// function for all of them): the start (argc/argv kept, SP aligned, g0's stack carved from the OS
// stack) and the end (check, args, osinit, schedinit, newproc(runtime_main), mstart). Each
// rt0_<os>_amd64.S defines SYM(name) (a symbol's name in its object format) and ARG0/ARG1 (its C
// ABI's first two argument registers) and includes this file; between the two macros it does its
// own TLS setup, the one part that differs per OS.

// rt0_go's start, with argc in %rdi and argv in %rsi: keeps them in callee-saved r12/r13 (in the
// Win64 ABI too), aligns SP to 16, marks the outermost frame, and makes g0's stack the top 64 KB
// of the OS stack minus the 104 bytes Go leaves for rt0's own frame. Leaves %rdi = &g0.
.macro RT0_GO_ENTRY
	movq	%rdi, %r12			// argc
	movq	%rsi, %r13			// argv
	andq	$~15, %rsp			// align SP to 16             (Go: ANDQ $~15, SP)
	xorl	%ebp, %ebp			// outermost frame for debuggers
	leaq	SYM(runtime_g0)(%rip), %rdi	// DI = &g0                   (Go: MOVQ $runtime·g0(SB), DI)
	leaq	(-64*1024+104)(%rsp), %rbx	// BX = SP - 64 KB + 104      (Go: LEAQ (-64*1024+104)(SP), BX)
	movq	%rbx, g_stack_lo(%rdi)		// g0.stack.lo = BX
	movq	%rsp, g_stack_hi(%rdi)		// g0.stack.hi = SP
.endm

// rt0_go's end, once TLS holds g0 (and, on windows, the shadow space is reserved): the runtime's
// start, as Go's rt0_go calls it. mstart never returns; the code after the macro reports it if
// it does.
.macro RT0_GO_START
	call	SYM(runtime_check)		// check                      (Go: CALL runtime·check(SB))
	movq	%r12, ARG0			// argc
	movq	%r13, ARG1			// argv
	call	SYM(runtime_args)		// args(argc, argv)           (Go: CALL runtime·args(SB))
	call	SYM(runtime_osinit)		// osinit                     (Go: CALL runtime·osinit(SB))
	call	SYM(runtime_schedinit)		// schedinit                  (Go: CALL runtime·schedinit(SB))
	movq	SYM(runtime_mainPC)(%rip), ARG0	// newproc(runtime_main)      (Go: MOVQ $runtime·mainPC(SB), AX)
	call	SYM(runtime_newproc)		//                            (Go: CALL runtime·newproc(SB))
	call	SYM(runtime_mstart)		// mstart: never returns      (Go: CALL runtime·mstart(SB))
.endm
