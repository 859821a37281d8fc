// The only code of libaftershock_inject.so that executes `syscall`.
//
// Syscall User Dispatch lets syscalls whose instruction lies inside one
// address range through untouched; that range is this section
// (__start_aftershock_text .. __stop_aftershock_text). Everything the
// recorder does itself, the SIGSYS return path (rt_sigreturn), and the
// trampolines through which the target's own calls are finally made live
// here.
//
// Passing a call through: the SIGSYS handler points the saved RIP at a
// trampoline and pushes the target's real return address on a small
// per-thread stack in TLS (aftershock_ret: a depth, then the entries, so
// entries[depth - 1] sits at byte 8 * depth).
// The trampoline makes the call with the target's registers and signal mask
// (restored by rt_sigreturn), then pops the address and jumps back. rcx and
// r11 are free: `syscall` clobbers them, so no caller can rely on them.
// The entry is read before the depth is decremented, so a signal arriving in
// between (whose handler may pass calls through too) cannot overwrite it.

        .section aftershock_text,"ax",@progbits

// long AftershockSyscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
// Returns the raw kernel result (-errno on failure).
        .globl  AftershockSyscall6
        .hidden AftershockSyscall6
        .type   AftershockSyscall6,@function
AftershockSyscall6:
        movq    %rdi, %rax
        movq    %rsi, %rdi
        movq    %rdx, %rsi
        movq    %rcx, %rdx
        movq    %r8, %r10
        movq    %r9, %r8
        movq    8(%rsp), %r9
        syscall
        ret
        .size   AftershockSyscall6, .-AftershockSyscall6

// SA_RESTORER of the SIGSYS handler: must be inside the allowed range.
        .globl  AftershockRestorer
        .hidden AftershockRestorer
        .type   AftershockRestorer,@function
AftershockRestorer:
        movl    $15, %eax
        syscall
        hlt
        .size   AftershockRestorer, .-AftershockRestorer

.macro POP_AND_JUMP
        movq    aftershock_ret@gottpoff(%rip), %r11
        movl    %fs:(%r11), %ecx
        movq    %fs:(%r11,%rcx,8), %rcx
        subl    $1, %fs:(%r11)
        jmp     *%rcx
.endm

// Calls a C function with every register the target may rely on preserved
// (the callee saves rbx, rbp, r12-r15; x87/SSE state is kept with fxsave).
// rdi = the stack pointer before the pushes.
.macro CALL_PRESERVING fn
        pushq   %rdi
        pushq   %rsi
        pushq   %rdx
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %rcx
        pushq   %rbx
        leaq    72(%rsp), %rdi
        movq    %rsp, %rbx
        andq    $-16, %rsp
        subq    $512, %rsp
        fxsave64 (%rsp)
        call    \fn
        fxrstor64 (%rsp)
        movq    %rbx, %rsp
        popq    %rbx
        popq    %rcx
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rdx
        popq    %rsi
        popq    %rdi
        xorl    %eax, %eax
.endm

// Any call the recorder does not need to see the end of.
        .globl  AftershockTrampPass
        .hidden AftershockTrampPass
        .type   AftershockTrampPass,@function
AftershockTrampPass:
        syscall
        POP_AND_JUMP
        .size   AftershockTrampPass, .-AftershockTrampPass

// rt_sigreturn of the target's own handlers: the frame is at rsp, untouched.
        .globl  AftershockTrampSigreturn
        .hidden AftershockTrampSigreturn
        .type   AftershockTrampSigreturn,@function
AftershockTrampSigreturn:
        syscall
        hlt
        .size   AftershockTrampSigreturn, .-AftershockTrampSigreturn

// fork, or clone without a new stack: the child (a copy) arms dispatch for
// itself (it is not inherited) before returning to the target.
        .globl  AftershockTrampFork
        .hidden AftershockTrampFork
        .type   AftershockTrampFork,@function
AftershockTrampFork:
        syscall
        testq   %rax, %rax
        jnz     1f
        CALL_PRESERVING AftershockChildStartFork
1:
        POP_AND_JUMP
        .size   AftershockTrampFork, .-AftershockTrampFork

// clone/clone3 with a new stack (threads, posix_spawn): the child starts on
// its own stack, where the handler left the target's return address just
// below the top.
        .globl  AftershockTrampThread
        .hidden AftershockTrampThread
        .type   AftershockTrampThread,@function
AftershockTrampThread:
        syscall
        testq   %rax, %rax
        jnz     1f
        subq    $8, %rsp
        CALL_PRESERVING AftershockChildStartThread
        ret
1:
        POP_AND_JUMP
        .size   AftershockTrampThread, .-AftershockTrampThread

// A rewritten call site (rewrite.cc) jumps to its stub, which moves rsp
// below the red zone, puts the call number in rax and the address after
// the site's `syscall` in rcx, and jumps here. The target's registers are
// what they were at the `syscall`, apart from rcx and r11, which it
// clobbers. AftershockFastCall gets them as a FastFrame (rewrite.cc) and
// returns the call's raw result, which goes back in rax as from `syscall`.
// Everything else is kept: the argument registers, rbx and rbp by hand,
// the callee-saved ones by the C function, and the whole vector and x87
// state (whatever the CPU has: the recorder may run libfiu, and libc's
// string functions use AVX) by XSAVE into a 64-byte aligned area, whose
// header must be zero for XRSTOR.
        .globl  AftershockFastEntry
        .hidden AftershockFastEntry
        .type   AftershockFastEntry,@function
AftershockFastEntry:
        pushq   %rcx
        pushq   %rbp
        pushq   %rbx
        pushq   %r9
        pushq   %r8
        pushq   %r10
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %rax
        movq    %rsp, %rbx
        andq    $-64, %rsp
        subq    aftershock_xsave_size(%rip), %rsp
        xorl    %eax, %eax
        movq    %rax, 512(%rsp)
        movq    %rax, 520(%rsp)
        movq    %rax, 528(%rsp)
        movq    %rax, 536(%rsp)
        movq    %rax, 544(%rsp)
        movq    %rax, 552(%rsp)
        movq    %rax, 560(%rsp)
        movq    %rax, 568(%rsp)
        movl    $-1, %eax
        movl    $-1, %edx
        xsave64 (%rsp)
        movq    %rbx, %rdi
        call    AftershockFastCall
        movq    %rax, (%rbx)
        movl    $-1, %eax
        movl    $-1, %edx
        xrstor64 (%rsp)
        movq    %rbx, %rsp
        popq    %rax
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %r10
        popq    %r8
        popq    %r9
        popq    %rbx
        popq    %rbp
        popq    %rcx
        leaq    128(%rsp), %rsp
        jmpq    *%rcx
        .size   AftershockFastEntry, .-AftershockFastEntry

        .section .note.GNU-stack,"",@progbits
