#include "harness/mail_facts.h"

#include <sstream>

#include "model/trace.h"

namespace aftershock {

std::vector<std::string> SplitWords(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> words;
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

bool MailFacts::Load(const std::string& trace_path, std::string* error) {
  TraceReader reader(trace_path);
  while (auto op = reader.Next()) {
    if (op->kind != OpKind::kMark) continue;
    std::vector<std::string> words = SplitWords(op->data);
    if (op->path == "ack" && !words.empty()) {
      acks_.emplace_back(op->seq, words);
    } else if (op->path == "sink" && words.size() >= 3) {
      SinkMark m;
      m.seq = op->seq;
      m.id = words.front();
      m.hash = words.back();
      m.rcpts.assign(words.begin() + 1, words.end() - 1);
      sinks_.push_back(m);
    } else if (op->path == "step") {
      steps_.emplace_back(op->seq, op->data);
      if (words.size() == 2 && words[0] == "tick") {
        ticks_.emplace_back(op->seq, std::stoll(words[1]));
      }
    }
  }
  if (!reader.ok()) {
    *error = reader.Error();
    return false;
  }
  return true;
}

std::set<Pair> MailFacts::AckedBefore(uint64_t crash_seq) const {
  std::set<Pair> acked;
  for (const auto& [seq, words] : acks_) {
    if (seq >= crash_seq) continue;
    for (size_t i = 1; i < words.size(); ++i) acked.emplace(words[0], words[i]);
  }
  return acked;
}

std::vector<SinkMark> MailFacts::SinkBefore(uint64_t crash_seq) const {
  std::vector<SinkMark> out;
  for (const auto& m : sinks_) {
    if (m.seq < crash_seq) out.push_back(m);
  }
  return out;
}

int64_t MailFacts::TicksBefore(uint64_t crash_seq) const {
  int64_t total = 0;
  for (const auto& [seq, seconds] : ticks_) {
    if (seq < crash_seq) total += seconds;
  }
  return total;
}

std::string MailFacts::StepAt(uint64_t crash_seq) const {
  std::string step = "before the workload";
  size_t n = 0;
  for (const auto& [seq, data] : steps_) {
    if (seq >= crash_seq) break;
    // The daemon's start and shutdown happen within a workload step (or
    // around all of them): they are named, not numbered.
    if (data != "serve" && data != "shutdown") ++n;
    step = "step " + std::to_string(n) + " (" + data + ")";
  }
  return step;
}

}  // namespace aftershock
