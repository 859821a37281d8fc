// This process's own children, told apart from the orphans it adopts.
//
// aftershock adopts every process a command leaves behind (it is the run's
// PID 1, and a child subreaper: launch.h, AdoptLeftovers). An adopted
// process that exits must be reaped at once: a target's stop script that
// signals its daemon and waits with `kill -0 PID` (Postfix's, most init
// scripts) would otherwise wait for a zombie forever. The children
// aftershock forks itself are reaped by whoever forked them (their status
// is the command's result), so every fork goes through ForkChild, and the
// reaper leaves those alone.
#pragma once

#include <sys/types.h>

namespace aftershock {

// fork(2), with the child registered before any reaper can see it exit.
// In the child it returns 0 and registers nothing.
pid_t ForkChild();

// Runs `child(arg)` in a new process that shares this process's memory
// until it execs or exits: clone(CLONE_VM | CLONE_VFORK), as posix_spawn
// does, so that starting a command costs the same whatever the size of
// aftershock's heap (a fork copies its page tables and makes every page
// copy-on-write; issue 17 measured that cost growing with the files a crash
// state holds). The calling thread waits until the child has exec'd or
// exited. The child runs on a stack of its own with every signal handler
// reset to the default and this thread's signal mask; `child` must write no
// memory but its own stack, must not allocate, and must end in execve or
// _exit. Registered as ForkChild's children are; -1 (errno) on failure.
pid_t SpawnChild(int (*child)(void*), void* arg);

// False in the AddressSanitizer build, where SpawnChild forks: ASan's
// bookkeeping (its shadow poisoning of stack frames, its per-thread state)
// is not made for instrumented code run by a child in this memory.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSpawnSharesMemory = false;
#else
inline constexpr bool kSpawnSharesMemory = true;
#endif

// Registers a child this process did not start itself: one the fork server
// cloned with CLONE_PARENT (fork_server.h). The caller makes sure it cannot
// exit before this (it waits for a word from this process first).
void AdoptChild(pid_t pid);

// waitpid(2) of a ForkChild child: once it is reaped, it is no longer ours.
pid_t WaitChild(pid_t pid, int* status, int options);

// Starts, once, the thread that reaps every exited child not from
// ForkChild. Returns false if it could not be started.
bool StartOrphanReaper();

}  // namespace aftershock
