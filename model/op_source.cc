#include "model/op_source.h"

namespace aftershock {

std::optional<Op> VectorOpSource::Next() {
  if (next_ >= ops_.size()) return std::nullopt;
  return ops_[next_++];
}

bool VectorOpSource::Rewind() {
  next_ = 0;
  return true;
}

FileOpSource::FileOpSource(std::string path, size_t reorder_window)
    : path_(std::move(path)), reorder_window_(reorder_window == 0 ? 1 : reorder_window) {
  Rewind();
}

bool FileOpSource::Rewind() {
  reader_ = std::make_unique<TraceReader>(path_);
  held_ = {};
  last_seq_ = 0;
  emitted_any_ = false;
  error_ = reader_->ok() ? "" : reader_->Error();
  return error_.empty();
}

std::optional<Op> FileOpSource::Next() {
  if (!error_.empty()) return std::nullopt;
  while (held_.size() < reorder_window_) {
    auto op = reader_->Next();
    if (!op) break;
    held_.push(std::move(*op));
  }
  if (!reader_->ok()) {
    error_ = reader_->Error();
    return std::nullopt;
  }
  if (held_.empty()) return std::nullopt;
  Op op = held_.top();
  held_.pop();
  if (emitted_any_ && op.seq < last_seq_) {
    error_ = path_ + ": record seq " + std::to_string(op.seq) + " arrives after seq " +
             std::to_string(last_seq_) + ", beyond the reorder window of " +
             std::to_string(reorder_window_) + " records";
    return std::nullopt;
  }
  emitted_any_ = true;
  last_seq_ = op.seq;
  return op;
}

}  // namespace aftershock
