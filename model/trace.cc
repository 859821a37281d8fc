#include "model/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>


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
  size_t got = std::fread(&fh, 1, sizeof fh, file_);
  if (got < trace::kLegacyHeaderSize) {
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
  bool sized = fh.header_size == trace::kLegacyHeaderSize || trace::HasTail(fh);
  if (!sized || fh.header_size > 4096 || (trace::HasTail(fh) && got < sizeof fh)) {
    error_ = path + ": byte 12: bad header size " + std::to_string(fh.header_size);
    return;
  }
  version_ = fh.version;
  struct stat st {};
  end_ = ::fstat(::fileno(file_), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  // A live trace ends at its tail: what lies beyond is space extended for
  // writers and not yet reserved (zeros).
  if (trace::HasTail(fh) && fh.tail >= fh.header_size) end_ = std::min(end_, fh.tail);
  std::fseek(file_, fh.header_size, SEEK_SET);
  offset_ = fh.header_size;
}

TraceReader::~TraceReader() {
  if (file_ != nullptr) std::fclose(file_);
}

bool TraceReader::SkipHole() {
  // The hole's reserver was killed before it stored the magic, which it
  // stores last: its other bytes may be anything. The next record is the
  // next place where an intact record starts.
  constexpr uint32_t kMagic = trace::kRecordMagic;
  std::vector<char> chunk(1 << 16);
  for (uint64_t at = offset_ + 1; at + sizeof(RecordHeader) <= end_;) {
    std::fseek(file_, static_cast<long>(at), SEEK_SET);
    size_t n = std::fread(chunk.data(), 1, std::min<uint64_t>(chunk.size(), end_ - at), file_);
    if (n < sizeof kMagic) break;
    for (size_t i = 0; i + sizeof kMagic <= n; ++i) {
      uint32_t word;
      std::memcpy(&word, chunk.data() + i, sizeof word);
      if (word != kMagic || !IntactAt(at + i)) continue;
      offset_ = at + i;
      std::fseek(file_, static_cast<long>(offset_), SEEK_SET);
      return true;
    }
    at += n - (sizeof kMagic - 1);
  }
  return false;
}

bool TraceReader::IntactAt(uint64_t at) {
  RecordHeader h{};
  std::fseek(file_, static_cast<long>(at), SEEK_SET);
  if (std::fread(&h, 1, sizeof h, file_) != sizeof h) return false;
  if (h.size > trace::kMaxRecordSize || h.size != trace::RecordSize(h) || at + h.size > end_) {
    return false;
  }
  std::vector<char> rec(h.size);
  std::memcpy(rec.data(), &h, sizeof h);
  size_t want = h.size - sizeof h;
  return std::fread(rec.data() + sizeof h, 1, want, file_) == want &&
         trace::RecordIsIntact(rec.data(), rec.size());
}

std::optional<Op> TraceReader::Next() {
  if (!ok() || truncated_tail_) return std::nullopt;
  RecordHeader h{};
  uint64_t left = end_ > offset_ ? end_ - offset_ : 0;
  size_t got = std::fread(&h, 1, std::min<uint64_t>(sizeof h, left), file_);
  if (got == 0) return std::nullopt;  // clean end
  if (h.magic == 0 && got >= sizeof h.magic) {
    // A record whose writer was killed (or is still writing it).
    ++holes_;
    if (SkipHole()) return Next();
    truncated_tail_ = true;
    return std::nullopt;
  }
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
  if (offset_ + h.size > end_ ||
      (want > 0 && std::fread(buf_.data() + sizeof h, 1, want, file_) != want)) {
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
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    error_ = path + ": " + std::strerror(errno);
    return;
  }
  FileHeader fh{};
  ssize_t got = ::pread(fd_, &fh, sizeof fh, 0);
  if (got == 0) {
    std::memcpy(fh.magic, trace::kMagic, sizeof fh.magic);
    fh.version = trace::kVersion;
    fh.header_size = sizeof fh;
    fh.tail = sizeof fh;
    if (::pwrite(fd_, &fh, sizeof fh, 0) != static_cast<ssize_t>(sizeof fh)) {
      error_ = path + ": " + std::strerror(errno);
      return;
    }
  } else if (got < static_cast<ssize_t>(trace::kLegacyHeaderSize)) {
    error_ = path + ": not an aftershock trace";
    return;
  }
  if (!trace::HasTail(fh)) return;  // an older trace: appended at its end
  void* map = ::mmap(nullptr, sizeof fh, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (map == MAP_FAILED) {
    error_ = path + ": " + std::strerror(errno);
    return;
  }
  header_ = static_cast<FileHeader*>(map);
}

TraceWriter::~TraceWriter() {
  if (header_ != nullptr) ::munmap(header_, sizeof *header_);
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

bool TraceWriter::Append(const Op& op) { return AppendEncoded(EncodeRecord(op)); }

bool TraceWriter::AppendEncoded(const std::string& rec) {
  if (!ok()) return false;
  off_t at;
  if (header_ != nullptr) {
    at = static_cast<off_t>(trace::ReserveRecord(header_, rec.size()));
  } else {
    at = ::lseek(fd_, 0, SEEK_END);
  }
  // One write: the bytes are ours alone, whoever else writes the trace.
  if (at < 0 || ::pwrite(fd_, rec.data(), rec.size(), at) != static_cast<ssize_t>(rec.size())) {
    error_ = std::strerror(errno);
    return false;
  }
  return true;
}

bool TraceWriter::Sync() { return ok() && ::fsync(fd_) == 0; }

}  // namespace aftershock
