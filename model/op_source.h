// Where the crash-state generator reads ops from: a stream in seq order that
// can start over (the random strategy reads the trace twice).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "model/trace.h"

namespace aftershock {

class OpSource {
 public:
  virtual ~OpSource() = default;
  // The next op in seq order, or nullopt at the end or on error.
  virtual std::optional<Op> Next() = 0;
  // Starts over from the first op. Returns false if it cannot.
  virtual bool Rewind() = 0;
  // Empty unless reading failed.
  virtual std::string Error() const { return ""; }
};

// Ops held in memory. REQUIRES: ordered by seq; `ops` outlives the source.
class VectorOpSource : public OpSource {
 public:
  explicit VectorOpSource(const std::vector<Op>* ops) : ops_(*ops) {}
  std::optional<Op> Next() override;
  bool Rewind() override;

 private:
  const std::vector<Op>& ops_;
  size_t next_ = 0;
};

// A trace file read record by record. Records may be out of seq order by a
// little (concurrent writers); up to `reorder_window` of them are held to put
// them back in order. A record further out of order is an error.
class FileOpSource : public OpSource {
 public:
  explicit FileOpSource(std::string path, size_t reorder_window = 4096);
  std::optional<Op> Next() override;
  bool Rewind() override;
  std::string Error() const override { return error_; }

 private:
  struct Later {
    bool operator()(const Op& a, const Op& b) const { return a.seq > b.seq; }
  };
  std::string path_;
  size_t reorder_window_;
  std::unique_ptr<TraceReader> reader_;
  std::priority_queue<Op, std::vector<Op>, Later> held_;
  uint64_t last_seq_ = 0;
  bool emitted_any_ = false;
  std::string error_;
};

}  // namespace aftershock
