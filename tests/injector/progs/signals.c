// Signal handlers that make recorded calls, running while the program's
// own recorded calls go through rewritten call sites (the recorder on the
// fast path, docs/injector.md "Rewritten call sites").
//   signals storm   a 200 us interval timer interrupts 20,000 writes; each
//                   SIGALRM handler appends one byte to signals.log
//   signals held    64 writes; the harness pauses the last (its site is
//                   rewritten by then: 32 traps) and sends SIGUSR1 meanwhile
// Both also check that sigaction shows the program its own handlers and
// that a one-shot (SA_RESETHAND) handler runs once. Prints the number of
// signals handled.
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static int log_fd;
static volatile sig_atomic_t handled;
static volatile sig_atomic_t oneshot;

static void OnSignal(int sig, siginfo_t* si, void* uc) {
  (void)si;
  (void)uc;
  char c = sig == SIGALRM ? 'a' : 'u';
  if (write(log_fd, &c, 1) == 1) ++handled;
}

static void OnOneShot(int sig) {
  (void)sig;
  ++oneshot;
}

// Installs OnSignal for sig and checks that sigaction reports it.
static int Install(int sig) {
  struct sigaction sa, seen;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = OnSignal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) != 0 || sigaction(sig, NULL, &seen) != 0) return 0;
  return seen.sa_sigaction == OnSignal && (seen.sa_flags & SA_SIGINFO) != 0;
}

static int OneShot(void) {
  struct sigaction sa, seen;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnOneShot;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGUSR2, &sa, NULL) != 0) return 0;
  raise(SIGUSR2);
  if (sigaction(SIGUSR2, NULL, &seen) != 0) return 0;
  return oneshot == 1 && seen.sa_handler == SIG_DFL;
}

static int Storm(int fd) {
  if (!Install(SIGALRM)) return 3;
  struct itimerval on = {{0, 200}, {0, 200}}, off;
  memset(&off, 0, sizeof off);
  setitimer(ITIMER_REAL, &on, NULL);
  for (int i = 0; i < 20000; ++i) {
    char line[16];
    int n = snprintf(line, sizeof line, "%d\n", i);
    if (write(fd, line, n) != n) return 4;
  }
  setitimer(ITIMER_REAL, &off, NULL);
  return 0;
}

static int Held(int fd) {
  if (!Install(SIGUSR1)) return 3;
  for (int i = 0; i < 64; ++i) {
    if (write(fd, "w\n", 2) != 2) return 4;
  }
  return handled == 1 ? 0 : 5;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  log_fd = open("signals.log", O_CREAT | O_WRONLY | O_APPEND, 0644);
  int fd = open("data", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (log_fd < 0 || fd < 0) return 1;
  int r = strcmp(argv[1], "storm") == 0 ? Storm(fd) : Held(fd);
  if (r != 0) return r;
  if (!OneShot()) return 6;
  if (fsync(fd) != 0 || close(fd) != 0 || close(log_fd) != 0) return 7;
  printf("handled %d\n", (int)handled);
  return 0;
}
