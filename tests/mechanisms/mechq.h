// A one-message maildir "queue" for the golden tests of the durability
// mechanisms (tests/mechanisms/mechanisms_test.cc). Each program's enqueue
// reads the message on stdin and delivers it into Maildir/new/ID, making it
// durable with one mechanism: correctly (variant "good...") or misused
// (variant "bad..."). Exit 0 is the acknowledgement (docs/target-contract.md).
//
// Usage: PROG VARIANT ID   (cwd = the crash domain; Maildir/tmp and
// Maildir/new exist and are durable). Built with -D_GNU_SOURCE.
#pragma once

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  const char* variant;
  char tmp[256];  // Maildir/tmp/ID
  char dst[256];  // Maildir/new/ID
  char* msg;      // the message, from stdin
  size_t len;
} Mechq;

static inline void Die(const char* what) {
  perror(what);
  exit(1);  // not acknowledged
}

static inline int Is(const Mechq* q, const char* variant) {
  return strcmp(q->variant, variant) == 0;
}

static inline Mechq Start(int argc, char** argv) {
  Mechq q;
  if (argc != 3) {
    fprintf(stderr, "usage: %s VARIANT ID\n", argv[0]);
    exit(2);
  }
  q.variant = argv[1];
  snprintf(q.tmp, sizeof q.tmp, "Maildir/tmp/%s", argv[2]);
  snprintf(q.dst, sizeof q.dst, "Maildir/new/%s", argv[2]);
  size_t cap = 1 << 16;
  q.msg = malloc(cap);
  q.len = 0;
  ssize_t n;
  while ((n = read(0, q.msg + q.len, cap - q.len)) > 0) {
    q.len += (size_t)n;
    if (q.len == cap) q.msg = realloc(q.msg, cap *= 2);
  }
  if (n < 0) Die("read stdin");
  return q;
}

static inline void WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) Die("write");
    p += w;
    n -= (size_t)w;
  }
}

// fsync of Maildir/new: makes the rename into it durable.
static inline void SyncNewDir(void) {
  int d = open("Maildir/new", O_RDONLY | O_DIRECTORY);
  if (d < 0 || fsync(d) != 0) Die("fsync Maildir/new");
  close(d);
}

static inline void Publish(const Mechq* q) {
  if (rename(q->tmp, q->dst) != 0) Die("rename");
}
