#include "model/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/file_io.h"

namespace aftershock {
namespace {

using trace::FileHeader;
using trace::RecordHeader;

// Reads the stack part (h.stack_len bytes at p) into op. Returns false if
// it is malformed.
bool ReadStackPart(const char* p, uint32_t len, Op* op) {
  if (len == 0) return true;
  trace::StackPart part;
  if (len < sizeof part) return false;
  std::memcpy(&part, p, sizeof part);
  size_t at = sizeof part;
  if (part.count > trace::kMaxCallers || at + part.count * sizeof(trace::StackFrame) > len) {
    return false;
  }
  std::vector<trace::StackFrame> frames(part.count);
  if (part.count > 0) std::memcpy(frames.data(), p + at, part.count * sizeof(trace::StackFrame));
  at += part.count * sizeof(trace::StackFrame);
  std::vector<std::string> modules = {op->module};
  for (int i = 0; i < part.module_count; ++i) {
    uint32_t n = 0;
    if (at + sizeof n > len) return false;
    std::memcpy(&n, p + at, sizeof n);
    at += sizeof n;
    if (n > len - at) return false;
    modules.emplace_back(p + at, n);
    at += n;
  }
  if (at != len) return false;
  for (const trace::StackFrame& f : frames) {
    if (f.module >= modules.size()) return false;
    op->callers.push_back({modules[f.module], f.offset});
  }
  op->stack_method = part.method;
  return true;
}

// The stack part of op's callers, as ReadStackPart reads it.
std::string StackPartOf(const Op& op) {
  if (op.callers.empty() && op.stack_method == 0) return "";
  std::vector<std::string> modules;
  std::vector<trace::StackFrame> frames;
  for (const StackFrame& f : op.callers) {
    trace::StackFrame r{f.offset, 0, 0};
    if (f.module != op.module) {
      auto it = std::find(modules.begin(), modules.end(), f.module);
      r.module = static_cast<uint32_t>(it - modules.begin()) + 1;
      if (it == modules.end()) modules.push_back(f.module);
    }
    frames.push_back(r);
  }
  std::vector<trace::StackName> names;
  for (const std::string& m : modules) names.push_back({m.data(), static_cast<uint32_t>(m.size())});
  int count = static_cast<int>(frames.size()), name_count = static_cast<int>(names.size());
  std::string out(trace::StackPartSize(count, names.data(), name_count), '\0');
  trace::WriteStackPart(op.stack_method, frames.data(), count, names.data(), name_count,
                        out.data());
  return out;
}

// Decodes a record's header and parts. Returns false if its stack part is
// malformed.
bool FromRecord(const RecordHeader& h, const char* parts, Op* out) {
  Op& op = *out;
  op.kind = static_cast<OpKind>(h.kind);
  op.flags = h.flags;
  op.seq = h.seq;
  op.sysno = h.sysno;
  op.pid = h.pid;
  op.tid = h.tid;
  op.result = h.result;
  op.err = h.err;
  op.fd = h.fd;
  op.fd2 = h.fd2;
  op.oflags = h.oflags;
  op.mode = h.mode;
  op.offset = h.offset;
  op.length = h.length;
  op.dev = h.dev;
  op.ino = h.ino;
  op.call_addr = h.call_addr;
  op.call_offset = h.call_offset;
  const char* p = parts;
  op.path.assign(p, h.path_len);
  p += h.path_len;
  op.path2.assign(p, h.path2_len);
  p += h.path2_len;
  op.module.assign(p, h.module_len);
  p += h.module_len;
  op.data.assign(p, h.data_len);
  p += h.data_len;
  return ReadStackPart(p, h.stack_len, &op);
}

RecordHeader ToHeader(const Op& op) {
  RecordHeader h{};
  h.seq = op.seq;
  h.kind = static_cast<uint16_t>(op.kind);
  h.flags = op.flags;
  h.sysno = op.sysno;
  h.pid = op.pid;
  h.tid = op.tid;
  h.result = op.result;
  h.err = op.err;
  h.fd = op.fd;
  h.fd2 = op.fd2;
  h.oflags = op.oflags;
  h.mode = op.mode;
  h.offset = op.offset;
  h.length = op.length;
  h.dev = op.dev;
  h.ino = op.ino;
  h.call_addr = op.call_addr;
  h.call_offset = op.call_offset;
  h.path_len = static_cast<uint32_t>(op.path.size());
  h.path2_len = static_cast<uint32_t>(op.path2.size());
  h.module_len = static_cast<uint32_t>(op.module.size());
  h.data_len = static_cast<uint32_t>(op.data.size());
  return h;
}

}  // namespace

TraceReader::TraceReader(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "rb");
  if (file_ == nullptr) {
    error_ = path + ": " + std::strerror(errno);
    return;
  }
  FileHeader fh{};
  if (std::fread(&fh, sizeof fh, 1, file_) != 1) {
    error_ = path + ": byte 0: not an aftershock trace (too short for a header)";
    return;
  }
  if (std::memcmp(fh.magic, trace::kMagic, sizeof fh.magic) != 0) {
    error_ = path + ": byte 0: not an aftershock trace (bad magic)";
    return;
  }
  if (fh.version != trace::kVersion) {
    error_ = path + ": byte 8: trace version " + std::to_string(fh.version) +
             " is not supported (this aftershock reads version " + std::to_string(trace::kVersion) +
             ")";
    return;
  }
  if (fh.header_size < sizeof fh || fh.header_size > 4096) {
    error_ = path + ": byte 12: bad header size " + std::to_string(fh.header_size);
    return;
  }
  version_ = fh.version;
  if (fh.header_size > sizeof fh) std::fseek(file_, fh.header_size, SEEK_SET);
  offset_ = fh.header_size;
}

TraceReader::~TraceReader() {
  if (file_ != nullptr) std::fclose(file_);
}

std::optional<Op> TraceReader::Next() {
  if (!ok() || truncated_tail_) return std::nullopt;
  RecordHeader h{};
  size_t got = std::fread(&h, 1, sizeof h, file_);
  if (got == 0) return std::nullopt;  // clean end
  if (got < sizeof h) {
    truncated_tail_ = true;
    return std::nullopt;
  }
  const std::string where = path_ + ": byte " + std::to_string(offset_) + ": ";
  if (h.magic != trace::kRecordMagic) {
    error_ = where + "bad record magic";
    return std::nullopt;
  }
  if (h.size > trace::kMaxRecordSize || h.size != trace::RecordSize(h)) {
    error_ = where + "record size " + std::to_string(h.size) + " disagrees with its parts";
    return std::nullopt;
  }
  buf_.resize(h.size);
  std::memcpy(buf_.data(), &h, sizeof h);
  size_t want = h.size - sizeof h;
  if (want > 0 && std::fread(buf_.data() + sizeof h, 1, want, file_) != want) {
    truncated_tail_ = true;
    return std::nullopt;
  }
  if (!trace::RecordIsIntact(buf_.data(), buf_.size())) {
    error_ = where + "bad record checksum (seq " + std::to_string(h.seq) + ")";
    return std::nullopt;
  }
  Op op;
  if (!FromRecord(h, buf_.data() + sizeof h, &op)) {
    error_ = where + "malformed stack part (seq " + std::to_string(h.seq) + ")";
    return std::nullopt;
  }
  offset_ += h.size;
  return op;
}

std::optional<Trace> ReadTrace(const std::string& path, TraceError* error) {
  TraceReader reader(path);
  Trace t;
  while (auto op = reader.Next()) t.ops.push_back(std::move(*op));
  if (!reader.ok()) {
    if (error != nullptr) error->message = reader.Error();
    return std::nullopt;
  }
  t.version = reader.version();
  std::stable_sort(t.ops.begin(), t.ops.end(),
                   [](const Op& a, const Op& b) { return a.seq < b.seq; });
  return t;
}

TraceWriter::TraceWriter(const std::string& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    error_ = path + ": " + std::strerror(errno);
    return;
  }
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && st.st_size == 0) {
    FileHeader fh{};
    std::memcpy(fh.magic, trace::kMagic, sizeof fh.magic);
    fh.version = trace::kVersion;
    fh.header_size = sizeof fh;
    if (!WriteAll(fd_, &fh, sizeof fh)) error_ = path + ": " + std::strerror(errno);
  }
}

TraceWriter::~TraceWriter() {
  if (fd_ >= 0) ::close(fd_);
}

std::string EncodeRecord(const Op& op) {
  RecordHeader h = ToHeader(op);
  std::string stack = StackPartOf(op);
  h.stack_len = static_cast<uint32_t>(stack.size());
  struct iovec iov[6];
  trace::SealRecord(&h, op.path.data(), op.path2.data(), op.module.data(), op.data.data(),
                    stack.data(), iov);
  std::string out;
  out.reserve(h.size);
  for (const auto& v : iov) out.append(static_cast<const char*>(v.iov_base), v.iov_len);
  return out;
}

bool TraceWriter::Append(const Op& op) {
  if (!ok()) return false;
  std::string rec = EncodeRecord(op);
  if (!WriteAll(fd_, rec.data(), rec.size())) {
    error_ = std::strerror(errno);
    return false;
  }
  return true;
}

bool TraceWriter::Sync() { return ok() && ::fsync(fd_) == 0; }

}  // namespace aftershock
