#include "harness/explore/builtin_workloads.h"

#include <memory>

#include "harness/target/manifest.h"

namespace aftershock {
namespace {

Step Enqueue(const std::string& id, std::vector<std::string> rcpts, uint64_t size) {
  Step st;
  st.kind = StepKind::kEnqueue;
  st.id = id;
  st.rcpts = std::move(rcpts);
  st.body_size = size;
  return st;
}

Step Beside(Step host, StepKind kind) {
  auto b = std::make_shared<aftershock::Beside>();
  b->step.kind = kind;
  b->where = "(built-in check-concurrent)";
  host.beside = std::move(b);
  return host;
}

// check-concurrent, from `s` (named and described): a restart beside one
// enqueue and a delivery beside another, each only when the manifest
// promises it ([promises]), none for a daemon. Adds a note per skipped part;
// false when nothing is left to run.
bool Concurrent(const std::string& manifest_path, Scenario* s, std::vector<std::string>* notes) {
  auto note = [&](const std::string& line) {
    if (notes) notes->push_back(line);
  };
  // An unloadable manifest keeps the workload: the run reports the error.
  Manifest manifest;
  const bool loaded = LoadManifest(manifest_path, &manifest).ok();
  // A daemon serves one request at a time: nothing can run beside a step.
  if (loaded && manifest.daemon()) {
    note("check-concurrent skipped: " + manifest.name +
         " is a daemon-mode target, which cannot run a step beside another");
    return false;
  }
  auto skip = [&](const std::string& what, const std::string& key) {
    note("check-concurrent: " + what + " skipped: " + manifest.name +
         " does not promise it ([promises] " + key + " = false)");
  };
  Step first = Enqueue("m1", {"alice@local", "bob@remote"}, 300);
  Step second = Enqueue("m2", {"carol@local"}, 100);
  if (loaded && !manifest.recover_beside_enqueue) {
    skip("a restart beside an enqueue", "recover_beside_enqueue");
  } else {
    first = Beside(first, StepKind::kRestart);
  }
  if (loaded && !manifest.deliver_beside_enqueue) {
    skip("a delivery beside an enqueue", "deliver_beside_enqueue");
  } else {
    second = Beside(second, StepKind::kDeliver);
  }
  if (!first.beside && !second.beside) return false;
  s->steps = {first, second};
  // Every interleaving is a recording explored under every model from its
  // beside step to the end: a few, spread over each enqueue's calls, and no
  // step after the last host keep the check quick (the drain delivers).
  s->max_interleavings = kCheckInterleavings;
  return true;
}

}  // namespace

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
  auto enqueue = Enqueue;
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

  Scenario concurrent =
      base("concurrent", "a restart beside an enqueue, a delivery beside another enqueue");
  if (Concurrent(manifest_path, &concurrent, notes)) out.push_back(concurrent);
  return out;
}

}  // namespace aftershock
