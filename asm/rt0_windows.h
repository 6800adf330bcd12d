// What the windows rt0s share whatever the arch: the TEB's layout, which differs between archs
// only by the word size (PTRSIZE, from asm_offsets.h; src/sys/windows/mod.rs computes the same
// offsets for the Rust side), and rt0's two failure messages.

#define TEB_STACKBASE		PTRSIZE			// NT_TIB.StackBase
#define TEB_STACKLIMIT		2*PTRSIZE		// NT_TIB.StackLimit
#if PTRSIZE == 8
#define TEB_TLSSLOTS		0x1480			// the 64 inline TLS slots
#else
#define TEB_TLSSLOTS		0xe10
#endif
#define TEB_DEALLOCATIONSTACK	TEB_TLSSLOTS-PTRSIZE	// just below TlsSlots

// The messages `die` writes (tls_msg .. tls_msg_end, mstart_msg .. mstart_msg_end).
.macro RT0_MESSAGES
	.section .rdata,"dr"
tls_msg:
	.ascii	"fatal error: rt0_go: TLS setup failed (TlsAlloc slot >= 64 or the 0x123 check)\n"
tls_msg_end:
mstart_msg:
	.ascii	"fatal error: rt0_go: mstart returned\n"
mstart_msg_end:
.endm
