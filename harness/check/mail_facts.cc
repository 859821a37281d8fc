#include "harness/check/mail_facts.h"

#include "model/op_source.h"

namespace aftershock {

Status MailFacts::Load(const std::string& trace_path) {
  FileOpSource source(trace_path);
  Status status;
  spec_ = MailSpec::FromSource(&source, &status);
  if (!spec_) return Status::Error(trace_path + ": " + status.message());
  if (!source.Error().empty()) {
    spec_.reset();
    return Status::Error(source.Error());
  }
  return Status::Ok();
}

std::set<Pair> MailFacts::AckedBefore(uint64_t crash_seq) const {
  std::set<Pair> acked;
  for (const MailPair& p : spec_->MustDeliver(crash_seq - 1)) acked.emplace(p.message, p.recipient);
  return acked;
}

std::vector<SinkMark> MailFacts::SinkBefore(uint64_t crash_seq) const {
  std::vector<SinkMark> out;
  for (const SinkDelivery& d : spec_->DeliveredBefore(crash_seq - 1)) {
    out.push_back({d.seq, d.message, d.recipients, d.content_hash});
  }
  return out;
}

std::set<std::string> MailFacts::SubmittedBefore(uint64_t crash_seq) const {
  std::vector<std::string> ids = spec_->Submitted(crash_seq - 1);
  return {ids.begin(), ids.end()};
}

int64_t MailFacts::TicksBefore(uint64_t crash_seq) const {
  return spec_->TicksBefore(crash_seq - 1);
}

std::string MailFacts::StepAt(uint64_t crash_seq) const { return spec_->StepAt(crash_seq - 1); }

}  // namespace aftershock
