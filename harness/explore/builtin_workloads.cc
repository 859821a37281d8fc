#include "harness/explore/builtin_workloads.h"

#include <memory>

#include "harness/target/manifest.h"

namespace aftershock {

std::vector<Scenario> BuiltinWorkloads(const std::string& manifest_path,
                                       std::vector<std::string>* notes) {
  auto base = [&](const std::string& name, const std::string& description) {
    Scenario s;
    s.name = "check-" + name;
    s.file = "(built-in)";
    s.description = description;
    s.target = manifest_path;
    s.models = {"process", "posix", "posix+torn", "ext4-ordered", "ext4-ordered+torn"};
    return s;
  };
  auto enqueue = [](const std::string& id, std::vector<std::string> rcpts, uint64_t size) {
    Step st;
    st.kind = StepKind::kEnqueue;
    st.id = id;
    st.rcpts = std::move(rcpts);
    st.body_size = size;
    return st;
  };
  Step deliver;
  deliver.kind = StepKind::kDeliver;
  Step restart;
  restart.kind = StepKind::kRestart;
  Step tick;
  tick.kind = StepKind::kTick;
  tick.seconds = 86400;

  std::vector<Scenario> out;
  Scenario one = base("single", "one message to one recipient, then a delivery");
  one.steps = {enqueue("m1", {"alice@local"}, 100), deliver};
  out.push_back(one);
  Scenario fan = base("fan-out", "one message to recipients in two domains");
  fan.steps = {enqueue("m1", {"alice@local", "bob@remote"}, 513), deliver};
  out.push_back(fan);
  Scenario many = base("interleaved", "messages with deliveries between them");
  many.steps = {enqueue("m1", {"alice@local"}, 0), deliver, enqueue("m2", {"bob@remote"}, 4096),
                enqueue("m3", {"carol@local"}, 1), deliver};
  out.push_back(many);
  Scenario clock = base("clock", "a day passes, then a restart and a delivery");
  clock.steps = {enqueue("m1", {"alice@local"}, 10), tick, restart, deliver};
  out.push_back(clock);

  // A daemon serves one request at a time: nothing can run beside a step.
  // An unloadable manifest keeps the workload: the run reports the error.
  Manifest manifest;
  if (LoadManifest(manifest_path, &manifest).ok() && manifest.daemon()) {
    if (notes) {
      notes->push_back("check-concurrent skipped: " + manifest.name +
                       " is a daemon-mode target, which cannot run a step beside another");
    }
    return out;
  }
  auto beside = [](Step host, StepKind kind) {
    auto b = std::make_shared<Beside>();
    b->step.kind = kind;
    b->where = "(built-in check-concurrent)";
    host.beside = std::move(b);
    return host;
  };
  Scenario concurrent =
      base("concurrent", "a restart beside an enqueue, a delivery beside another enqueue");
  concurrent.steps = {beside(enqueue("m1", {"alice@local", "bob@remote"}, 300), StepKind::kRestart),
                      beside(enqueue("m2", {"carol@local"}, 100), StepKind::kDeliver)};
  // Every interleaving is a recording explored under every model from its
  // beside step to the end: a few, spread over each enqueue's calls, and no
  // step after the last host keep the check quick (the drain delivers).
  concurrent.max_interleavings = kCheckInterleavings;
  out.push_back(concurrent);
  return out;
}

}  // namespace aftershock
