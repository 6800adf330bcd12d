// The floor for the `hello-asm` bench row (issue 22's startup aim: gort's hello within 1.25x of
// a static assembly program): what a hello program cannot avoid on linux x86-64, execve of a
// static executable, one write(2) and exit_group(2). Built by `cargo xtask bench` with
// `clang -nostdlib -static`.
        .globl _start
        .text
_start:
        mov     $1, %eax                // write(1, msg, len)
        mov     $1, %edi
        lea     msg(%rip), %rsi
        mov     $len, %edx
        syscall
        mov     $231, %eax              // exit_group(0)
        xor     %edi, %edi
        syscall
        .section .rodata
msg:
        .ascii  "hello, world\n"
        .set    len, . - msg
        .section .note.GNU-stack,"",@progbits
