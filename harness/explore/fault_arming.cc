#include "harness/explore/fault_arming.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "injector/shared_page.h"

namespace aftershock {
namespace {

// Beyond any nth a scenario accepts (at most 2^30), and far from wrapping.
constexpr uint64_t kParked = uint64_t{1} << 62;

}  // namespace

std::vector<bool> FaultsHeldByDaemon(const Scenario& s) {
  std::vector<bool> held(s.faults.size(), false);
  for (size_t k = 0; k < s.faults.size(); ++k) {
    for (size_t i = 0; i < s.steps.size(); ++i) {
      if (s.steps[i].kind == StepKind::kEnqueue && s.faults[k].AppliesTo(i, StepKind::kEnqueue)) {
        held[k] = true;
      }
    }
  }
  return held;
}

DaemonFaultArming::DaemonFaultArming(const Scenario& scenario, std::vector<bool> held,
                                     std::string trace_path)
    : scenario_(scenario),
      held_(std::move(held)),
      trace_path_(std::move(trace_path)),
      parked_(held_.size(), false),
      saved_(held_.size(), 0) {}

Status DaemonFaultArming::EnterStep(size_t step_index, StepKind kind) {
  std::vector<bool> armed(held_.size(), false);
  for (size_t k = 0; k < held_.size() && k < scenario_.faults.size(); ++k) {
    armed[k] = scenario_.faults[k].AppliesTo(step_index, kind);
  }
  return Apply(armed);
}

Status DaemonFaultArming::ParkAll() { return Apply(std::vector<bool>(held_.size(), false)); }

Status DaemonFaultArming::Apply(const std::vector<bool>& armed) {
  bool any = false;
  for (bool h : held_) any |= h;
  if (!any) return Status::Ok();
  if (held_.size() > static_cast<size_t>(inject::kMaxRules)) {
    return Status::Error("too many faults for the injector (at most " +
                         std::to_string(inject::kMaxRules) + ")");
  }
  char seq_path[4096];
  if (!inject::SeqPathFor(trace_path_.c_str(), seq_path, sizeof seq_path)) {
    return Status::Error(trace_path_ + ": path too long");
  }
  int fd = ::open(seq_path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status::Error(std::string(seq_path) + ": " + std::strerror(errno));
  void* map = ::mmap(nullptr, inject::kSharedPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return Status::Error(std::string(seq_path) + ": " + std::strerror(errno));
  auto* page = static_cast<inject::SharedPage*>(map);
  if (page->magic != inject::kSharedPageMagic) {
    ::munmap(map, inject::kSharedPageSize);
    return Status::Error(std::string(seq_path) + ": not an aftershock sequence file");
  }
  for (size_t k = 0; k < held_.size(); ++k) {
    if (!held_[k]) continue;
    uint64_t* hits = &page->rule_hits[k];
    if (armed[k] && parked_[k]) {
      __atomic_store_n(hits, saved_[k], __ATOMIC_SEQ_CST);
      parked_[k] = false;
    } else if (!armed[k] && !parked_[k]) {
      saved_[k] = __atomic_exchange_n(hits, kParked, __ATOMIC_SEQ_CST);
      parked_[k] = true;
    }
  }
  ::munmap(map, inject::kSharedPageSize);
  return Status::Ok();
}

std::string FaultsFor(const Scenario& s, size_t step_index, StepKind kind) {
  bool any = false;
  for (const Fault& f : s.faults) any |= f.AppliesTo(step_index, kind);
  if (!any) return "";
  std::string spec;
  for (const Fault& f : s.faults) {
    if (!spec.empty()) spec += ';';
    spec += f.AppliesTo(step_index, kind) ? f.Spec() : "fail aftershock/inactive nth=1 errno=EIO";
  }
  return spec;
}

std::string WithRuleAt(const std::string& faults, size_t position, const std::string& rule) {
  std::string spec = faults;
  if (spec.empty()) {
    for (size_t i = 0; i < position; ++i) spec += "count aftershock/inactive;";
  } else {
    spec += ';';
  }
  return spec + rule;
}

std::string DaemonFaults(const Scenario& s) {
  bool any = false;
  std::string spec;
  for (const Fault& f : s.faults) {
    bool enqueue = false;
    for (size_t i = 0; i < s.steps.size(); ++i) {
      enqueue |= s.steps[i].kind == StepKind::kEnqueue && f.AppliesTo(i, StepKind::kEnqueue);
    }
    any |= enqueue;
    if (!spec.empty()) spec += ';';
    spec += enqueue ? f.Spec() : "fail aftershock/inactive nth=1 errno=EIO";
  }
  return any ? spec : "";
}

}  // namespace aftershock
