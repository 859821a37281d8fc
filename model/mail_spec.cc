#include "model/mail_spec.h"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>

namespace aftershock {
namespace {

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool IsHex(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

// Number of leading elements of `v` (ascending by seq) with seq <= at.
template <typename T>
size_t UpTo(const std::vector<T>& v, uint64_t at) {
  return static_cast<size_t>(
      std::upper_bound(v.begin(), v.end(), at, [](uint64_t a, const T& x) { return a < x.seq; }) -
      v.begin());
}

}  // namespace

std::optional<MailSpec> MailSpec::FromSource(OpSource* source, Status* status) {
  MailSpec spec;
  while (auto op = source->Next()) {
    Status st = spec.Observe(*op);
    if (!st.ok()) {
      if (status != nullptr) *status = st;
      return std::nullopt;
    }
  }
  if (!source->Error().empty()) {
    if (status != nullptr) *status = Status::Error(source->Error());
    return std::nullopt;
  }
  if (status != nullptr) *status = Status::Ok();
  return spec;
}

Status MailSpec::Observe(const Op& op) {
  if (op.kind != OpKind::kMark) return Status::Ok();
  const std::string where = "mark " + op.path + " (seq " + std::to_string(op.seq) + ")";
  std::vector<std::string> w = Words(op.data);
  if (op.path == "ack") {
    if (w.size() < 2) return Status::Error(where + ": expected \"<message> <recipient>...\"");
    acks_.push_back({op.seq, w[0], {w.begin() + 1, w.end()}});
  } else if (op.path == "sink") {
    if (w.size() < 3 || !IsHex(w.back())) {
      return Status::Error(where + ": expected \"<message> <recipient>... <xxh64 hex>\"");
    }
    sinks_.push_back({op.seq, w[0], {w.begin() + 1, w.end() - 1}, w.back()});
  } else if (op.path == "step") {
    steps_.emplace_back(op.seq, op.data);
    if (w.size() >= 2 && w[0] == "enqueue") submitted_.emplace_back(op.seq, w[1]);
    if (w.size() == 2 && w[0] == "tick") {
      char* end = nullptr;
      long long seconds = std::strtoll(w[1].c_str(), &end, 10);
      if (end == nullptr || *end != '\0') return Status::Error(where + ": bad tick " + w[1]);
      ticks_.emplace_back(op.seq, seconds);
    }
  }
  return Status::Ok();
}

std::vector<MailPair> MailSpec::MustDeliver(uint64_t crash_seq) const {
  std::set<MailPair> pairs;
  for (size_t i = 0, n = UpTo(acks_, crash_seq); i < n; ++i) {
    for (const std::string& r : acks_[i].recipients) pairs.insert({acks_[i].message, r});
  }
  return {pairs.begin(), pairs.end()};
}

std::vector<SinkDelivery> MailSpec::DeliveredBefore(uint64_t crash_seq) const {
  return {sinks_.begin(), sinks_.begin() + static_cast<long>(UpTo(sinks_, crash_seq))};
}

std::vector<std::string> MailSpec::Submitted(uint64_t crash_seq) const {
  std::vector<std::string> out;
  for (const auto& [seq, id] : submitted_) {
    if (seq <= crash_seq) out.push_back(id);
  }
  return out;
}

int64_t MailSpec::TicksBefore(uint64_t crash_seq) const {
  int64_t total = 0;
  for (const auto& [seq, seconds] : ticks_) {
    if (seq <= crash_seq) total += seconds;
  }
  return total;
}

std::string MailSpec::StepAt(uint64_t crash_seq) const {
  std::string step = "before the workload";
  size_t n = 0;
  for (size_t i = 0; i < steps_.size() && steps_[i].first <= crash_seq; ++i) {
    // A daemon's start and shutdown happen around the workload's steps (daemon
    // mode): they are named, not numbered.
    const std::string& data = steps_[i].second;
    if (data != "serve" && data != "shutdown") ++n;
    step = "step " + std::to_string(n) + " (" + data + ")";
  }
  return step;
}

}  // namespace aftershock
