#include "harness/target/scenario.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "harness/target/toml_fields.h"
#include "injector/faults.h"
#include "model/crash_states.h"
#include "model/persistence.h"
#include "reports/verdict.h"

namespace aftershock {
namespace {

template <typename List>
bool In(const List& list, const std::string& s) {
  return std::find(std::begin(list), std::end(list), s) != std::end(list);
}

// "prefix, omit-one, random or exhaustive": the model's strategies.
std::string StrategyNamesHelp() {
  std::string help;
  for (size_t i = 0; i < std::size(kStrategies); ++i) {
    if (i > 0) help += i + 1 == std::size(kStrategies) ? " or " : ", ";
    help += StrategyName(kStrategies[i]);
  }
  return help;
}

bool ValidRcpt(const std::string& r) {
  auto at = r.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == r.size()) return false;
  for (char c : r) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '@' || c == '.' || c == '_' ||
          c == '-' || c == '+')) {
      return false;
    }
  }
  return true;
}

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  }
  return true;
}

// The fault points a scenario may name: the injector's (injector/faults.h)
// and, for a [[fault]], those the target's manifest declares ([faults]
// points: libfiu points compiled into the target, such as refqueue's).
class PointNames {
 public:
  explicit PointNames(const std::string& target) : target_(target) {}
  // Returns true iff the injector consults `point` (or a group matching one).
  static bool Injector(const std::string& point) { return inject::IsKnownPoint(point.c_str()); }
  // Returns true iff the injector or the target knows `point`.
  bool InjectorOrTarget(const std::string& point) {
    if (Injector(point)) return true;
    if (!loaded_) {
      loaded_ = true;
      Manifest m;
      if (!target_.empty() && LoadManifest(target_, &m).ok()) manifest_ = std::move(m);
    }
    if (!manifest_) return false;
    for (const std::string& own : manifest_->fault_points) {
      if (inject::PointMatches(own.c_str(), point.c_str()) ||
          inject::PointMatches(point.c_str(), own.c_str())) {
        return true;
      }
    }
    return false;
  }

 private:
  const std::string& target_;
  bool loaded_ = false;
  std::optional<Manifest> manifest_;
};

bool ReadStep(TomlFields& f, Scenario* s, int64_t* next_id, Step* beside_of = nullptr);

// The keys of an enqueue step: rcpts and body_size into *step, its `id`
// (empty: numbered) and `count`. `with_beside`: it has or is a beside step.
bool ReadEnqueue(TomlFields& f, bool with_beside, Step* step, std::string* id, int64_t* count) {
  int64_t size = 64;
  f.String("id", id);
  f.StringList("rcpts", &step->rcpts);
  f.Int("body_size", &size, 0, 64 << 20);
  f.Int("count", count, 1, 100000);
  if (!f.ok()) return false;
  if (step->rcpts.empty()) return f.Fail(nullptr, "enqueue needs 'rcpts' (at least one)");
  for (const auto& r : step->rcpts) {
    if (!ValidRcpt(r)) return f.FailAt("rcpts", "bad recipient '" + r + "' (user@domain)");
  }
  if (!id->empty() && *count != 1) return f.FailAt("id", "'id' and 'count' exclude each other");
  if (!id->empty() && !ValidId(*id)) return f.FailAt("id", "'id' must match [A-Za-z0-9_-]+");
  if (*count != 1 && with_beside) {
    return f.FailAt("count", "'count' and a beside step exclude each other");
  }
  step->body_size = static_cast<uint64_t>(size);
  return true;
}

// [step.beside] of `host` (already read): a step run while host is paused.
bool ReadBeside(TomlFields& f, const toml::table& table, Scenario* s, int64_t* next_id,
                Step* host) {
  auto b = std::make_shared<Beside>();
  b->where = Where(f.file(), table.source());
  f.String("point", &b->point);
  f.IntList("at", &b->at, 1, int64_t{1} << 30);
  if (!f.ok()) return false;
  if (!ValidPointName(b->point)) {
    return f.FailAt("point", "'point' must be a fault point name (posix/io/rw/write) or \"*\"");
  }
  // A beside step pauses in the recorder, so only the recorder's points serve.
  if (!PointNames::Injector(b->point)) {
    return f.FailAt("point", "unknown fault point '" + b->point +
                                 "': not one the injector records (docs/injector.md)");
  }
  for (size_t i = 1; i < b->at.size(); ++i) {
    if (b->at[i] <= b->at[i - 1]) return f.FailAt("at", "'at' must be increasing");
  }
  if (!ReadStep(f, s, next_id, &b->step)) return false;
  host->beside = std::move(b);
  return true;
}

// Reads one step into s->steps or, with beside_of, into *beside_of (the
// keys of [step.beside] other than its step's are read by ReadBeside).
bool ReadStep(TomlFields& f, Scenario* s, int64_t* next_id, Step* beside_of) {
  std::string kind;
  if (!f.String("kind", &kind, true)) return false;
  Step step;
  const toml::table* beside = nullptr;
  if (beside_of == nullptr) f.Table("beside", &beside);
  if (!f.ok()) return false;
  if (beside_of != nullptr && kind == "tick") {
    return f.FailAt("kind", "a beside step must be enqueue, deliver or restart (not tick)");
  }
  if (beside != nullptr && kind == "tick") {
    return f.FailAt("beside", "a tick step runs no command: nothing to run beside");
  }
  // Reads the beside table (after this step's id is taken) and finishes.
  auto finish = [&](Step* host) {
    if (beside != nullptr) {
      TomlFields bf(f.file(), *beside, f.status());
      if (!ReadBeside(bf, *beside, s, next_id, host)) return false;
      if (!bf.Finish()) return false;
    }
    return f.Finish();
  };
  if (kind == "enqueue") {
    step.kind = StepKind::kEnqueue;
    int64_t count = 1;
    std::string id;
    if (!ReadEnqueue(f, beside != nullptr || beside_of != nullptr, &step, &id, &count)) {
      return false;
    }
    for (int64_t i = 0; i < count; ++i) {
      step.id = id.empty() ? "m" + std::to_string((*next_id)++) : id;
      auto clash = [&](const Step& other) {
        return other.kind == StepKind::kEnqueue && other.id == step.id;
      };
      for (const Step& other : s->steps) {
        if (clash(other) || (other.beside && clash(other.beside->step))) {
          return f.Fail(nullptr, "message id '" + step.id + "' used twice");
        }
      }
      if (beside_of != nullptr) {
        *beside_of = step;
        return true;
      }
      s->steps.push_back(step);
    }
    return finish(&s->steps.back());
  }
  if (kind == "deliver") {
    step.kind = StepKind::kDeliver;
  } else if (kind == "restart") {
    step.kind = StepKind::kRestart;
  } else if (kind == "tick") {
    step.kind = StepKind::kTick;
    if (!f.Int("seconds", &step.seconds, 1, int64_t{1} << 40, true)) return false;
  } else {
    return f.FailAt("kind", "'kind' must be enqueue, deliver, tick or restart");
  }
  if (beside_of != nullptr) {
    *beside_of = step;
    return true;
  }
  s->steps.push_back(step);
  return finish(&s->steps.back());
}

bool ReadFault(TomlFields& f, PointNames* points, Fault* fault) {
  f.String("action", &fault->action, true);
  if (f.ok() && fault->action != "fail" && fault->action != "short") {
    return f.FailAt("action", "'action' must be \"fail\" or \"short\"");
  }
  f.String("point", &fault->point, true);
  if (f.ok() && !ValidPointName(fault->point)) {
    return f.FailAt("point", "'point' must be a fault point name (posix/io/sync/fsync)");
  }
  if (f.ok() && !points->InjectorOrTarget(fault->point)) {
    return f.FailAt("point", "unknown fault point '" + fault->point +
                                 "': neither the injector's (docs/injector.md) nor among the "
                                 "target's [faults] points");
  }
  f.Int("nth", &fault->nth, 1, 1 << 30);
  f.String("errno", &fault->err);
  f.Int("bytes", &fault->bytes, 0, int64_t{1} << 40);
  f.Int("step", &fault->step, 1, 1 << 30);
  f.String("during", &fault->during);
  if (!f.ok()) return false;
  if (fault->action == "fail") {
    if (fault->err.empty()) return f.Fail(nullptr, "action = \"fail\" needs 'errno'");
    if (inject::ErrnoFromName(fault->err.data(), fault->err.size()) == 0) {
      return f.FailAt("errno", "unknown errno '" + fault->err + "'");
    }
  }
  if (fault->action == "short" && !fault->err.empty()) {
    return f.FailAt("errno", "action = \"short\" takes 'bytes', not 'errno'");
  }
  if (!fault->during.empty() && fault->during != "enqueue" && fault->during != "deliver" &&
      fault->during != "restart") {
    return f.FailAt("during", "'during' must be enqueue, deliver or restart");
  }
  return f.Finish();
}

bool ReadExpect(TomlFields& f, Scenario* s) {
  Expectation& e = s->expect;
  f.Int("lost", &e.max_lost, 0, int64_t{1} << 40);
  f.Int("corrupt", &e.max_corrupt, 0, int64_t{1} << 40);
  f.Int("phantom", &e.max_phantom, 0, int64_t{1} << 40);
  f.Int("recovery_failed", &e.max_recovery_failed, 0, int64_t{1} << 40);
  f.Double("max_duplicate_rate", &e.max_duplicate_rate, 0.0, 1.0);
  f.String("violation", &e.violation);
  f.StringList("violation_models", &e.violation_models);
  if (!f.ok()) return false;
  if (!e.violation.empty() && (!IsKnownVerdictName(e.violation) || e.violation == "ok")) {
    return f.FailAt("violation", "'violation' must be a verdict name other than ok");
  }
  for (const auto& m : e.violation_models) {
    if (!In(s->models, m)) {
      return f.FailAt("violation_models", "'" + m + "' is not among the scenario's models");
    }
  }
  if (e.violation.empty() && !e.violation_models.empty()) {
    return f.FailAt("violation_models", "'violation_models' needs 'violation'");
  }
  return f.Finish();
}

// The keys of the scenario's top table other than its tables, into *s
// (whose file is set): target, models, strategy, seed and limits.
void ReadScenarioKeys(TomlFields& top, const toml::table& root, Scenario* s) {
  const std::string& path = top.file();
  int64_t seed = -1;
  top.String("name", &s->name);
  top.String("description", &s->description);
  top.String("target", &s->target, true);
  if (top.ok()) {
    s->target = AbsolutePath(s->target, std::filesystem::path(s->file).parent_path().string());
    if (const toml::node* n = root.get("target")) s->target_where = Where(path, n->source());
  }
  s->models = {"process", "posix", "ext4-ordered+torn"};
  top.StringList("models", &s->models);
  if (top.ok()) {
    if (s->models.empty()) top.FailAt("models", "'models' must name at least one model");
    for (size_t i = 0; i < s->models.size(); ++i) {
      const std::string& m = s->models[i];
      if (top.ok() && !IsKnownModel(m)) {
        top.Fail(root["models"].as_array()->get(i),
                 "unknown model '" + m + "' (" + PersistenceModel::kNamesHelp + ")");
      }
    }
  }
  top.String("strategy", &s->strategy);
  if (top.ok() && !IsKnownStrategy(s->strategy)) {
    top.FailAt("strategy", "'strategy' must be " + StrategyNamesHelp());
  }
  top.Int("seed", &seed, 0, INT64_MAX);
  if (seed >= 0) {
    s->seed = static_cast<uint64_t>(seed);
    s->seed_given = true;
  }
  top.Int("nested", &s->nested, 0, 1);
  top.Int("clock_start", &s->clock_start, 0, int64_t{1} << 40);
  top.Int("max_states", &s->max_states, 1, int64_t{1} << 32);
  top.Int("random_states", &s->random_states, 1, int64_t{1} << 32);
  top.Int("max_interleavings", &s->max_interleavings, 1, 100000);
  top.StringMap("env", &s->env);
}

}  // namespace

const char* StepKindName(StepKind kind) {
  switch (kind) {
    case StepKind::kEnqueue:
      return "enqueue";
    case StepKind::kDeliver:
      return "deliver";
    case StepKind::kTick:
      return "tick";
    case StepKind::kRestart:
      return "restart";
  }
  return "?";
}

std::string Step::MarkData() const {
  switch (kind) {
    case StepKind::kEnqueue:
      return "enqueue " + id;
    case StepKind::kTick:
      return "tick " + std::to_string(seconds);
    default:
      return StepKindName(kind);
  }
}

std::string Fault::Spec() const {
  std::string s = action + " " + point + " nth=" + std::to_string(nth);
  if (action == "fail") s += " errno=" + err;
  if (action == "short") s += " bytes=" + std::to_string(bytes);
  return s;
}

bool Fault::AppliesTo(size_t step_index0, StepKind kind) const {
  if (step != 0 && static_cast<size_t>(step) != step_index0 + 1) return false;
  if (!during.empty() && during != StepKindName(kind)) return false;
  return true;
}

bool IsKnownModel(const std::string& model) { return PersistenceModel::Parse(model).has_value(); }
bool IsKnownStrategy(const std::string& strategy) { return ParseStrategy(strategy).has_value(); }
bool IsKnownVerdictName(const std::string& verdict) { return ParseVerdict(verdict).has_value(); }

Status LoadScenario(const std::string& path, Scenario* out) {
  Scenario s;
  s.file = AbsolutePath(path, std::filesystem::current_path().string());
  s.name = std::filesystem::path(path).stem().string();
  toml::table root;
  Status status = ParseTomlFile(path, &root);
  if (!status.ok()) return status;

  TomlFields top(path, root, &status);
  const toml::table* expect = nullptr;
  std::vector<const toml::table*> steps, faults;
  ReadScenarioKeys(top, root, &s);
  top.Tables("step", &steps);
  top.Tables("fault", &faults);
  top.Table("expect", &expect);
  if (!top.Finish()) return status;
  if (steps.empty()) {
    TomlFields(path, root, &status).Fail(nullptr, "a scenario needs at least one [[step]]");
    return status;
  }
  int64_t next_id = 1;
  for (const toml::table* t : steps) {
    TomlFields f(path, *t, &status);
    if (!ReadStep(f, &s, &next_id)) return status;
  }
  PointNames points(s.target);
  for (const toml::table* t : faults) {
    TomlFields f(path, *t, &status);
    Fault fault;
    if (!ReadFault(f, &points, &fault)) return status;
    s.faults.push_back(fault);
  }
  if (expect) {
    TomlFields f(path, *expect, &status);
    if (!ReadExpect(f, &s)) return status;
  }
  *out = std::move(s);
  return Status::Ok();
}

}  // namespace aftershock
