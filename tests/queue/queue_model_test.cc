// A state-machine test of the queue against a model of mail delivery. Random
// sequences of enqueue (random recipients over several queues, either fan-out
// strategy), deliver, deliver to a refusing sink, tick and restart (recover);
// no crashes. After every command the copies delivered so far must be exactly
// the model's, and after draining every acknowledged pair is delivered once.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <map>
#include <set>

#include "refqueue.h"
#include "support.h"

namespace refqueue::testing {
namespace {

const std::vector<std::string> kRcpts = {"a@local", "b@local", "c@remote", "d@remote",
                                         "e@mx.other"};

using Pair = std::pair<std::string, std::string>;

struct Model {
  bool maildir = false;
  int next_id = 0;
  std::set<Pair> pending;
  std::map<Pair, int> delivered;
};

struct Sut {
  explicit Sut(bool maildir) : options(sandbox.MakeOptions(maildir)) {}
  Sandbox sandbox;
  Options options;
  std::map<std::string, Submitted> submitted;
};

using Command = rc::state::Command<Model, Sut>;

// The delivered copies must be exactly `expected`, each intact.
void AssertDeliveredExactly(const Sut& sut, const Model& expected) {
  Outcome outcome = Check(sut.submitted, sut.sandbox.Deliveries());
  RC_ASSERT(outcome.corrupt.empty());
  RC_ASSERT(outcome.phantom.empty());
  std::map<Pair, int> counts;
  for (const auto& [pair, count] : outcome.counts) {
    if (count > 0) counts[pair] = count;
  }
  RC_ASSERT(counts == expected.delivered);
}

struct EnqueueCmd : Command {
  std::vector<std::string> rcpts;
  Fanout fanout = *rc::gen::element(Fanout::kWorkfile, Fanout::kHardlink);
  size_t body_bytes = *rc::gen::inRange<size_t>(0, 5000);

  EnqueueCmd() {
    const auto mask = *rc::gen::inRange(1, 1 << kRcpts.size());
    for (size_t i = 0; i < kRcpts.size(); ++i) {
      if (mask & (1 << i)) rcpts.push_back(kRcpts[i]);
    }
  }
  static std::string Id(const Model& s) { return "m" + std::to_string(s.next_id); }

  void apply(Model& s) const override {
    for (const std::string& rcpt : rcpts) s.pending.insert({Id(s), rcpt});
    ++s.next_id;
  }
  void run(const Model& s, Sut& sut) const override {
    const std::string id = Id(s);
    const std::string content = MakeMessage(id, rcpts, body_bytes);
    Options options = sut.options;
    options.fanout = fanout;
    std::string name;
    Status status = Enqueue(options, id, rcpts, content, &name);
    RC_ASSERT(status.ok());
    sut.submitted[id] = {content, rcpts, true};
    AssertDeliveredExactly(sut, s);
  }
  void show(std::ostream& os) const override {
    os << "Enqueue(" << (fanout == Fanout::kHardlink ? "hardlink" : "workfile") << ", "
       << body_bytes << " bytes, " << rcpts.size() << " rcpts:";
    for (const std::string& rcpt : rcpts) os << " " << rcpt;
    os << ")";
  }
};

struct DeliverCmd : Command {
  void apply(Model& s) const override {
    for (const Pair& pair : s.pending) ++s.delivered[pair];
    s.pending.clear();
  }
  void run(const Model& s, Sut& sut) const override {
    DeliverStats stats;
    RC_ASSERT(Deliver(sut.options, &stats).ok());
    RC_ASSERT(stats.delivered == static_cast<int>(s.pending.size()));
    Model after = s;
    apply(after);
    AssertDeliveredExactly(sut, after);
  }
  void show(std::ostream& os) const override { os << "Deliver"; }
};

struct DeliverRefusedCmd : Command {
  void checkPreconditions(const Model& s) const override { RC_PRE(!s.maildir); }
  void run(const Model& s, Sut& sut) const override {
    Options refusing = sut.sandbox.MakeOptions(false, /*sink_refuses=*/true);
    refusing.now_s = sut.options.now_s;
    DeliverStats stats;
    RC_ASSERT(Deliver(refusing, &stats).ok());
    RC_ASSERT(stats.delivered == 0);
    RC_ASSERT(stats.deferred <= static_cast<int>(s.pending.size()));
    AssertDeliveredExactly(sut, s);
  }
  void show(std::ostream& os) const override { os << "DeliverToRefusingSink"; }
};

struct TickCmd : Command {
  int64_t seconds = *rc::gen::inRange<int64_t>(1, 20000);
  void run(const Model& s, Sut& sut) const override {
    sut.options.now_s += seconds;
    AssertDeliveredExactly(sut, s);
  }
  void show(std::ostream& os) const override { os << "Tick(" << seconds << "s)"; }
};

struct RestartCmd : Command {
  void run(const Model& s, Sut& sut) const override {
    RecoverStats stats;
    RC_ASSERT(Recover(sut.options, &stats).ok());
    // Nothing crashed: there is nothing stale, corrupt or left over.
    RC_ASSERT(stats.stale_removed == 0 && stats.quarantined == 0 && stats.tmp_removed == 0);
    AssertDeliveredExactly(sut, s);
  }
  void show(std::ostream& os) const override { os << "Restart"; }
};

RC_GTEST_PROP(QueueModel, EveryAcknowledgedPairIsDeliveredExactlyOnceAfterDraining, ()) {
  Model initial;
  initial.maildir = *rc::gen::arbitrary<bool>();
  Sut sut(initial.maildir);
  rc::state::check(initial, sut,
                   rc::state::gen::execOneOfWithArgs<EnqueueCmd, DeliverCmd, DeliverRefusedCmd,
                                                     TickCmd, RestartCmd>());
  RecoverStats recovered;
  RC_ASSERT(Recover(sut.options, &recovered).ok());
  DeliverStats delivered;
  RC_ASSERT(Deliver(sut.options, &delivered).ok());
  Outcome outcome = Check(sut.submitted, sut.sandbox.Deliveries());
  RC_ASSERT(outcome.Safe());
  RC_ASSERT(outcome.duplicated.empty());
  RC_ASSERT(FilesUnder(sut.sandbox.root() + "/incoming").empty());
  RC_ASSERT(FilesUnder(sut.sandbox.root() + "/queues").empty());
}

}  // namespace
}  // namespace refqueue::testing
