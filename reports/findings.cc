#include "reports/findings.h"

#include <xxhash.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <map>
#include <numeric>

namespace aftershock {
namespace {

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// "CALL PATH" -> call, path.
void SplitOp(const std::string& op, CauseParts* p) {
  size_t space = op.find(' ');
  p->call = op.substr(0, space);
  p->path = space == std::string::npos ? "" : op.substr(space + 1);
}

// Union-find over the groups of a run.
class Sets {
 public:
  explicit Sets(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), size_t{0}); }
  size_t Find(size_t i) {
    while (parent_[i] != i) i = parent_[i] = parent_[parent_[i]];
    return i;
  }
  void Join(size_t a, size_t b) { parent_[Find(a)] = Find(b); }

 private:
  std::vector<size_t> parent_;
};

// A call site that does not depend on the machine, the checkout's folder or
// the line (which moves from commit to commit): "fs.cc refqueue::WriteAll",
// "libq.so sane_rename" from the symbol table alone, "libq.so+0x1a2b"
// without symbols, "" unknown.
std::string StableSite(const Culprit& c) {
  if (!c.known) return "";
  auto base = [](const std::string& path) { return path.substr(path.find_last_of('/') + 1); };
  if (c.HasSource()) return base(c.file) + " " + c.ShortFunction();
  if (c.module.empty()) return "";
  if (!c.function.empty()) return base(c.module) + " " + c.ShortFunction();  // no debug info
  char offset[32];
  std::snprintf(offset, sizeof offset, "+0x%llx", static_cast<unsigned long long>(c.offset));
  return base(c.module) + offset;
}

// The keys a group is known by; groups that share a key are one finding.
// The first key is the canonical one (the fingerprint's), the most stable
// one the group has.
std::vector<std::string> KeysOf(const ScenarioResult& s, const ViolationGroup& g) {
  CauseParts c = ParseCause(g.cause);
  if (c.kind == "dropped" || c.kind == "torn" || c.kind == "lost-to-fsync") {
    const std::string step = c.kind + "|" + c.MissingStep();
    std::string site = StableSite(g.evidence.culprit);
    std::vector<std::string> keys;
    // The same call site missing the same step on the same file pattern:
    // the same bug, in whichever scenario and model shows it.
    if (!site.empty()) keys.push_back("site|" + step + "|" + c.path + "|" + site);
    // Within one scenario: the same missing step on the same file (a write
    // and a chmod that one fsync would cover) ...
    keys.push_back("step|" + s.name + "|" + step + "|" + c.path);
    // ... and the same call site missing the same step (one helper writing
    // each queue's copy of a message).
    if (!site.empty()) keys.push_back("site|" + s.name + "|" + step + "|" + site);
    return keys;
  }
  // No dropped op explains it: the crash point is the cause, and the crash
  // points of one phase of one scenario form one window.
  return {"crash|" + s.name + "|" + c.beside + "|" + c.kind + "|" + c.phase};
}

std::string Shown(const std::string& path) {
  return StartsWith(path, "{root}/") ? path.substr(7) : path;
}

std::string TitleOf(const ViolationGroup& g) {
  CauseParts c = ParseCause(g.cause);
  std::string op = "`" + c.call + " " + Shown(c.path) + "`";
  if (c.kind == "dropped") {
    return op + " is not durable when the message is acknowledged: no " + c.MissingStep() +
           " before the acknowledgement";
  }
  if (c.kind == "torn") return op + " can be torn by a crash: no " + c.MissingStep() + " before it counts";
  if (c.kind == "lost-to-fsync") return op + " is lost when fsync fails, and the queue goes on";
  std::string when = c.beside.empty() ? "" : " (" + c.beside + ")";
  if (c.kind == "end") return "acknowledged mail is lost without any crash" + when;
  if (c.kind == "start") return "a crash before the first step loses mail" + when;
  if (c.kind == "crash") return "a crash during " + c.phase + " loses acknowledged mail" + when;
  return g.cause;
}

template <typename T>
void AddOnce(std::vector<T>* list, const T& v) {
  if (std::find(list->begin(), list->end(), v) == list->end()) list->push_back(v);
}

// Builds one finding from its places (in report order).
Finding Build(const Report& r, const std::vector<FindingPlace>& places,
              const std::vector<std::vector<std::string>>& keys_of_place) {
  Finding f;
  f.places = places;
  std::string best_key;
  for (size_t i = 0; i < places.size(); ++i) {
    const FindingPlace& p = places[i];
    const ScenarioResult& s = r.scenarios[p.scenario];
    const ModelResult& m = s.models[p.model];
    const ViolationGroup& g = m.groups[p.group];
    f.states += g.count;
    f.expected = f.expected && g.expected;
    if (static_cast<int>(g.verdict) > static_cast<int>(f.verdict) || i == 0) f.verdict = g.verdict;
    AddOnce(&f.scenarios, s.name);
    AddOnce(&f.models, m.model);
    const std::string& k = keys_of_place[i].front();
    if (best_key.empty() || k < best_key) best_key = k;
  }
  // The primary place: the one with the most states (then report order).
  auto primary = std::max_element(f.places.begin(), f.places.end(),
                                  [&](const FindingPlace& a, const FindingPlace& b) {
                                    auto count = [&](const FindingPlace& p) {
                                      return r.scenarios[p.scenario].models[p.model].groups[p.group].count;
                                    };
                                    return count(a) < count(b);
                                  });
  std::rotate(f.places.begin(), primary, primary + 1);
  const FindingPlace& p = f.places.front();
  f.title = TitleOf(r.scenarios[p.scenario].models[p.model].groups[p.group]);
  f.key = best_key;
  f.fingerprint = Hex64(XXH64(f.key.data(), f.key.size(), 0));
  return f;
}

}  // namespace

// Calls that change names in a directory: a crash keeps them only once the
// directory is synced. Every other call changes a file's data or inode.
bool ChangesADirectory(const std::string& call) {
  static const char* const kNameCalls[] = {"open", "creat", "link",  "rename", "unlink",
                                           "mkdir", "rmdir", "symlink", "mknod"};
  return std::any_of(std::begin(kNameCalls), std::end(kNameCalls),
                     [&](const char* c) { return call == c; });
}

std::string CauseParts::MissingStep() const {
  return ChangesADirectory(call) ? "fsync of its directory" : "fsync of the file";
}

CauseParts ParseCause(const std::string& cause) {
  CauseParts p;
  std::string rest = cause;
  const std::string kBeside = " ran beside ";
  if (size_t at = rest.find(kBeside); at != std::string::npos && rest.find(": ") != std::string::npos &&
                                      at < rest.find(": ")) {
    size_t end = rest.find(": ");
    p.beside = rest.substr(0, std::min(end, rest.find(", paused")));
    rest = rest.substr(end + 2);
  }
  if (StartsWith(rest, "dropped ")) {
    p.kind = "dropped";
    SplitOp(rest.substr(8), &p);
  } else if (StartsWith(rest, "torn ")) {
    p.kind = "torn";
    SplitOp(rest.substr(5), &p);
  } else if (StartsWith(rest, "lost to a failed fsync: ")) {
    p.kind = "lost-to-fsync";
    SplitOp(rest.substr(24), &p);
  } else if (StartsWith(rest, "crash during ")) {
    p.kind = "crash";
    std::string after = rest.substr(13);
    size_t comma = after.find(", ");
    p.phase = after.substr(0, comma);
    if (comma != std::string::npos && StartsWith(after.substr(comma + 2), "after ")) {
      SplitOp(after.substr(comma + 8), &p);
    }
  } else if (StartsWith(rest, "no crash")) {
    p.kind = "end";
  } else if (StartsWith(rest, "crash before the first step")) {
    p.kind = "start";
  } else {
    p.kind = "other";
  }
  return p;
}

std::vector<Finding> FindFindings(const Report& r) {
  std::vector<FindingPlace> places;
  std::vector<std::vector<std::string>> keys;
  for (size_t si = 0; si < r.scenarios.size(); ++si) {
    const ScenarioResult& s = r.scenarios[si];
    for (size_t mi = 0; mi < s.models.size(); ++mi) {
      for (size_t gi = 0; gi < s.models[mi].groups.size(); ++gi) {
        const ViolationGroup& g = s.models[mi].groups[gi];
        if (!IsViolation(g.verdict)) continue;  // duplicates are allowed, never findings
        places.push_back({si, mi, gi});
        keys.push_back(KeysOf(s, g));
      }
    }
  }
  Sets sets(places.size());
  std::map<std::string, size_t> first_with_key;
  for (size_t i = 0; i < places.size(); ++i) {
    for (const std::string& k : keys[i]) {
      auto [it, fresh] = first_with_key.emplace(k, i);
      if (!fresh) sets.Join(i, it->second);
    }
  }
  std::map<size_t, std::vector<size_t>> members;  // root -> places, in report order
  for (size_t i = 0; i < places.size(); ++i) members[sets.Find(i)].push_back(i);
  std::vector<Finding> out;
  for (const auto& [root, list] : members) {
    std::vector<FindingPlace> ps;
    std::vector<std::vector<std::string>> ks;
    for (size_t i : list) {
      ps.push_back(places[i]);
      ks.push_back(keys[i]);
    }
    out.push_back(Build(r, ps, ks));
  }
  std::sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    if (a.expected != b.expected) return !a.expected;
    if (a.states != b.states) return a.states > b.states;
    return a.key < b.key;
  });
  int64_t states = 0;
  for (const Finding& f : out) states += f.states;
  int64_t grouped = 0;
  for (const FindingPlace& p : places) grouped += r.scenarios[p.scenario].models[p.model].groups[p.group].count;
  assert(states == grouped);  // every violating state is in exactly one finding
  return out;
}

std::string FindingReach(const Finding& f) {
  auto join = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  };
  return std::to_string(f.states) + " state(s) in " + join(f.scenarios) + " under " + join(f.models);
}

std::string FindingsHeadline(const std::vector<Finding>& findings) {
  if (findings.empty()) return "no findings";
  size_t unexpected = std::count_if(findings.begin(), findings.end(),
                                    [](const Finding& f) { return !f.expected; });
  std::string s = std::to_string(findings.size()) + (findings.size() == 1 ? " finding" : " findings");
  if (unexpected != findings.size()) {
    s += " (" + std::to_string(unexpected) + " unexpected, " +
         std::to_string(findings.size() - unexpected) + " expected)";
  }
  return s;
}

}  // namespace aftershock
