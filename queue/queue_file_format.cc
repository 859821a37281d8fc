#include "queue_file_format.h"

#include <xxhash.h>

#include <cstring>

namespace refqueue {
namespace {

constexpr std::string_view kMagic = "RQF1";
constexpr size_t kRecordHeaderBytes = 5;
constexpr size_t kChecksumBytes = 8;

void PutLe(std::string* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t GetLe(std::string_view in, size_t pos, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<uint64_t>(static_cast<unsigned char>(in[pos + i])) << (8 * i);
  }
  return value;
}

void PutRecord(std::string* out, char type, std::string_view payload) {
  out->push_back(type);
  PutLe(out, payload.size(), 4);
  out->append(payload);
}

// XXH64 of `bytes` with each status byte replaced by 'P'.
uint64_t Checksum(std::string_view bytes, const std::vector<uint64_t>& status_offsets) {
  std::string copy(bytes);
  for (uint64_t offset : status_offsets) copy[offset] = static_cast<char>(RcptStatus::kPending);
  return XXH64(copy.data(), copy.size(), 0);
}

Status Reject(const std::string& why) { return Status::Invalid("invalid queue file: " + why); }

}  // namespace

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 128 || id[0] == '.') return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '@' || c == '+' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string Encode(QueueFile* file) {
  std::string out(kMagic);
  std::string envelope;
  PutLe(&envelope, static_cast<uint64_t>(file->created_s), 8);
  envelope.push_back(static_cast<char>(file->fanout));
  envelope.append(file->id);
  PutRecord(&out, 'E', envelope);
  for (const std::string& output : file->outputs) PutRecord(&out, 'O', output);
  std::vector<uint64_t> offsets;
  for (Recipient& rcpt : file->recipients) {
    rcpt.status_offset = out.size() + kRecordHeaderBytes;
    offsets.push_back(rcpt.status_offset);
    std::string payload(1, static_cast<char>(rcpt.status));
    payload.append(rcpt.address);
    PutRecord(&out, 'R', payload);
  }
  PutRecord(&out, 'C', file->content);
  PutRecord(&out, 'Z', "");
  PutLe(&out, Checksum(out, offsets), 8);
  return out;
}

Status Decode(std::string_view bytes, QueueFile* out) {
  if (bytes.size() < kMagic.size() + kChecksumBytes) return Reject("too short");
  if (bytes.substr(0, kMagic.size()) != kMagic) return Reject("bad magic");
  QueueFile file;
  std::vector<uint64_t> offsets;
  bool have_envelope = false, have_content = false, have_end = false;
  size_t pos = kMagic.size();
  while (!have_end) {
    if (bytes.size() - pos < kRecordHeaderBytes) return Reject("truncated record header");
    char type = bytes[pos];
    uint64_t length = GetLe(bytes, pos + 1, 4);
    size_t payload_pos = pos + kRecordHeaderBytes;
    if (length > bytes.size() - payload_pos) return Reject("truncated record");
    std::string_view payload = bytes.substr(payload_pos, length);
    switch (type) {
      case 'E':
        if (have_envelope || pos != kMagic.size()) return Reject("misplaced envelope");
        if (payload.size() < 9) return Reject("short envelope");
        file.created_s = static_cast<int64_t>(GetLe(payload, 0, 8));
        file.fanout = static_cast<Fanout>(payload[8]);
        if (file.fanout != Fanout::kWorkfile && file.fanout != Fanout::kHardlink) {
          return Reject("bad fan-out byte");
        }
        file.id = std::string(payload.substr(9));
        if (!IsValidId(file.id)) return Reject("bad message id");
        have_envelope = true;
        break;
      case 'O':
        if (!have_envelope || !file.recipients.empty()) return Reject("misplaced output");
        if (payload.empty() || payload.size() > kMaxFieldBytes) return Reject("bad output");
        if (file.outputs.size() == kMaxOutputs) return Reject("too many outputs");
        file.outputs.emplace_back(payload);
        break;
      case 'R': {
        if (!have_envelope || have_content) return Reject("misplaced recipient");
        if (payload.size() < 2 || payload.size() > kMaxFieldBytes + 1) {
          return Reject("bad recipient");
        }
        auto status = static_cast<RcptStatus>(payload[0]);
        if (status != RcptStatus::kPending && status != RcptStatus::kDone) {
          return Reject("bad status byte");
        }
        if (file.recipients.size() == kMaxRecipients) return Reject("too many recipients");
        file.recipients.push_back({std::string(payload.substr(1)), status, payload_pos});
        offsets.push_back(payload_pos);
        break;
      }
      case 'C':
        if (file.recipients.empty() || have_content) return Reject("misplaced content");
        if (payload.size() > kMaxContentBytes) return Reject("content too large");
        file.content = std::string(payload);
        have_content = true;
        break;
      case 'Z':
        if (!have_content || !payload.empty()) return Reject("misplaced end record");
        have_end = true;
        break;
      default:
        return Reject("unknown record type");
    }
    pos = payload_pos + length;
  }
  if (bytes.size() - pos != kChecksumBytes) return Reject("bytes after the end record");
  if (GetLe(bytes, pos, 8) != Checksum(bytes.substr(0, pos), offsets)) {
    return Reject("checksum mismatch");
  }
  *out = std::move(file);
  return Status::Ok();
}

}  // namespace refqueue
