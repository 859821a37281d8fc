// The queue file format: what one message file holds, and its validation.
// Byte layout (integers little-endian), documented in docs/refqueue.md:
//
//   "RQF1"                                   magic, 4 bytes
//   record*                                  type:1 length:4 payload:length
//     'E' envelope   created_s:8 fanout:1 id   (exactly one, first)
//     'O' output     queue name               (work files: the outputs to make)
//     'R' recipient  status:1 address         (one or more)
//     'C' content    the message as read from stdin (exactly one)
//     'Z' end        empty
//   checksum:8                               XXH64 of everything before it,
//                                            status bytes counted as 'P'
//
// The status byte of a recipient is the only byte ever rewritten in place
// (the done mark), so the checksum leaves it out.
#ifndef REFQUEUE_QUEUE_FILE_FORMAT_H_
#define REFQUEUE_QUEUE_FILE_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace refqueue {

enum class Fanout : uint8_t { kWorkfile = 'W', kHardlink = 'H' };

enum class RcptStatus : uint8_t { kPending = 'P', kDone = 'D' };

struct Recipient {
  std::string address;
  RcptStatus status = RcptStatus::kPending;
  uint64_t status_offset = 0;  // where the status byte lies; set by Decode and Encode
};

struct QueueFile {
  int64_t created_s = 0;  // virtual time of the enqueue
  std::string id;
  Fanout fanout = Fanout::kWorkfile;
  std::vector<std::string> outputs;  // queue names; only in files of incoming/
  std::vector<Recipient> recipients;
  std::string content;
};

inline constexpr size_t kMaxContentBytes = 64 << 20;
inline constexpr size_t kMaxRecipients = 1000;
inline constexpr size_t kMaxOutputs = 64;
inline constexpr size_t kMaxFieldBytes = 320;

// Serializes `file`; fills in each recipient's status_offset.
std::string Encode(QueueFile* file);

// Parses and validates `bytes`. Rejects anything but a whole, untorn file:
// truncation, zero-fill, a flipped bit, trailing bytes, bad status bytes.
Status Decode(std::string_view bytes, QueueFile* out);

// True iff `id` may appear in a queue file name: [A-Za-z0-9_@+-], with
// dots allowed after the first character, 1 to 128 bytes.
bool IsValidId(std::string_view id);

}  // namespace refqueue

#endif  // REFQUEUE_QUEUE_FILE_FORMAT_H_
