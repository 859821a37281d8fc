#include "injector/insn_length.h"

namespace aftershock::inject {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kJumpLen = 5;  // jmp rel32

bool IsLegacyPrefix(unsigned char b) {
  return b == 0x66 || b == 0x67 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x3e || b == 0x26 ||
         b == 0x36 || b == 0x64 || b == 0x65;
}

// The length of a ModRM byte at p with what follows it (SIB, displacement).
uint64_t ModRmLength(const unsigned char* p) {
  unsigned mod = p[0] >> 6, rm = p[0] & 7;
  uint64_t len = 1;
  if (mod != 3 && rm == 4) {
    ++len;
    if (mod == 0 && (p[1] & 7) == 5) len += 4;
  }
  if (mod == 0 && rm == 5) len += 4;  // rip-relative
  if (mod == 1) len += 1;
  if (mod == 2) len += 4;
  return len;
}

// Two-byte opcodes (after 0f): -1 unknown, else 1 with ModRM, 4 for rel32,
// 0 for none.
int TwoByteKind(unsigned char op) {
  if (op >= 0x80 && op <= 0x8f) return 4;  // jcc rel32
  if (op == 0x05) return 0;                // syscall
  if (op == 0x1e || op == 0x1f || (op >= 0x40 && op <= 0x4f) || (op >= 0x90 && op <= 0x9f) ||
      op == 0xaf || op == 0xb6 || op == 0xb7 || op == 0xbe || op == 0xbf) {
    return 1;
  }
  return -1;
}

// One-byte opcodes: -1 unknown; else bit 0x100 ModRM, low bits the
// immediate's bytes (0xff: 4, or 2 with an operand-size prefix; 0xfe: 8
// with REX.W else 4; 0xfd: as 0xff when ModRM's reg is 0 or 1, else 0).
int OneByteKind(unsigned char op) {
  if (op < 0x40) {
    unsigned low = op & 7;
    if (low < 4) return 0x100;
    if (low == 4) return 1;
    if (low == 5) return 0xff;
    return -1;
  }
  if ((op >= 0x50 && op <= 0x5f) || (op >= 0x90 && op <= 0x99) || op == 0xc3 || op == 0xc9 ||
      op == 0xcc) {
    return 0;
  }
  if (op == 0x63 || (op >= 0x84 && op <= 0x8b) || op == 0x8d || (op >= 0xd0 && op <= 0xd3) ||
      op == 0xfe || op == 0xff) {
    return 0x100;
  }
  if (op == 0x6b || op == 0x80 || op == 0x83 || op == 0xc0 || op == 0xc1 || op == 0xc6) {
    return 0x101;
  }
  if (op == 0x69 || op == 0x81 || op == 0xc7) return 0x1ff;
  if ((op >= 0x70 && op <= 0x7f) || op == 0xeb || op == 0x6a || op == 0xa8 ||
      (op >= 0xb0 && op <= 0xb7)) {
    return 1;
  }
  if (op == 0xe8 || op == 0xe9 || op == 0x68) return 4;
  if (op == 0xa9) return 0xff;
  if (op >= 0xb8 && op <= 0xbf) return 0xfe;
  if (op == 0xc2) return 2;
  if (op == 0xf6) return 0x1fd;  // test r/m8, imm8 when reg is 0 or 1
  if (op == 0xf7) return 0x1fc;
  return -1;
}

bool IsNop(const unsigned char* p) {
  while (IsLegacyPrefix(*p)) ++p;
  return p[0] == 0x90 || (p[0] == 0x0f && p[1] == 0x1f);
}

// The end of the padding at p (no-ops that end on a 16-byte boundary), or
// 0 when the bytes there are not that.
uint64_t PaddingEnd(uint64_t p) {
  uint64_t end = (p + 15) & ~uint64_t{15};
  while (p < end) {
    const unsigned char* c = reinterpret_cast<const unsigned char*>(p);
    uint64_t n = InsnLength(c);
    if (n == 0 || !IsNop(c)) return 0;
    p += n;
  }
  return p == end ? end : 0;
}

}  // namespace

uint64_t InsnLength(const unsigned char* p) {
  uint64_t k = 0;
  bool opsize = false, rexw = false;
  while (k < 4 && IsLegacyPrefix(p[k])) opsize |= p[k++] == 0x66;
  if ((p[k] & 0xf0) == 0x40) rexw = (p[k++] & 8) != 0;
  unsigned char op = p[k++];
  if (op == 0x0f) {
    int kind = TwoByteKind(p[k++]);
    if (kind < 0) return 0;
    return kind == 1 ? k + ModRmLength(p + k) : k + static_cast<uint64_t>(kind);
  }
  int kind = OneByteKind(op);
  if (kind < 0) return 0;
  uint64_t len = k;
  unsigned reg = (p[k] >> 3) & 7;
  if (kind & 0x100) len += ModRmLength(p + k);
  unsigned imm = kind & 0xff;
  if (imm == 0xff) imm = opsize ? 2 : 4;
  if (imm == 0xfe) imm = rexw ? 8 : (opsize ? 2 : 4);
  if (imm == 0xfd) imm = reg < 2 ? 1 : 0;
  if (imm == 0xfc) imm = reg < 2 ? (opsize ? 2 : 4) : 0;
  return len + imm;
}

uint64_t FindHop(uint64_t from, uint64_t limit) {
  uint64_t page_end = (from & ~(kPage - 1)) + kPage;
  uint64_t p = from;
  while (p <= limit && p + 32 <= page_end) {
    const unsigned char* c = reinterpret_cast<const unsigned char*>(p);
    uint64_t n = InsnLength(c);
    if (n == 0) return 0;
    p += n;
    bool transfer = n == 1 ? c[0] == 0xc3 : (c[0] == 0xe9 && n == 5) || (c[0] == 0xeb && n == 2);
    if (!transfer || p % 16 == 0) continue;
    // After an unconditional transfer, bytes that are not padding may be a
    // hop taken before (its jump, then what is left of the no-ops): where
    // the next instruction starts is no longer known, so the search ends.
    uint64_t end = PaddingEnd(p);
    if (end == 0) return 0;
    if (end - p >= kJumpLen && p <= limit) return p;
    p = end;
  }
  return 0;
}

}  // namespace aftershock::inject
