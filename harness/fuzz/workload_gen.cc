#include "harness/fuzz/workload_gen.h"

#include <algorithm>
#include <memory>

namespace aftershock {
namespace {

// RapidCheck scales ranges by size; this one is the size at which a range is
// used in full, so every field draws from its whole list whatever the case.
constexpr int kFullSize = rc::kNominalSize;

}  // namespace

std::vector<std::string> RcptsForDomains(const std::vector<std::string>& domains) {
  static const char* kUsers[] = {"alice",  "bob",   "carol",  "dave", "erin",    "frank",
                                 "grace",  "heidi", "ivan",   "judy", "mallory", "niaj",
                                 "olivia", "peggy", "rupert", "sybil"};
  std::vector<std::string> out;
  size_t n = std::min<size_t>(2 * domains.size(), std::size(kUsers));
  for (size_t i = 0; i < n; ++i)
    out.push_back(std::string(kUsers[i]) + "@" + domains[i % domains.size()]);
  return out;
}

rc::Gen<GenWorkload> GenWorkloads(const WorkloadSpace& space) {
  using rc::gen::inRange;
  using rc::gen::just;
  using rc::gen::map;
  const uint32_t masks = uint32_t{1} << space.rcpts.size();
  const auto sizes = static_cast<uint32_t>(space.body_sizes.size());
  const auto ticks = static_cast<uint32_t>(space.tick_seconds.size());

  // Only the fields a kind uses are generated: a shrink of an unused field
  // would cost a whole exploration to learn nothing.
  const uint32_t besides = 2 * space.beside_one_in;
  rc::Gen<uint32_t> beside = besides ? inRange<uint32_t>(0, besides) : just(uint32_t{0});
  rc::Gen<GenStep> enqueue =
      map(rc::gen::tuple(inRange<uint32_t>(1, masks), inRange<uint32_t>(0, sizes), beside),
          [](const std::tuple<uint32_t, uint32_t, uint32_t>& t) {
            GenStep s;
            s.kind = StepKind::kEnqueue;
            s.rcpt_mask = std::get<0>(t);
            s.size_index = std::get<1>(t);
            s.beside = std::get<2>(t);
            return s;
          });
  auto plain = [](StepKind kind) {
    GenStep s;
    s.kind = kind;
    return just(s);
  };
  rc::Gen<GenStep> tick = map(inRange<uint32_t>(0, ticks), [](uint32_t i) {
    GenStep s;
    s.kind = StepKind::kTick;
    s.tick_index = i;
    return s;
  });
  rc::Gen<GenStep> step =
      rc::gen::resize(kFullSize, rc::gen::weightedOneOf<GenStep>({{5, enqueue},
                                                                  {3, plain(StepKind::kDeliver)},
                                                                  {2, plain(StepKind::kRestart)},
                                                                  {1, tick}}));
  // A container's length is drawn from 0..size: the size is the step limit.
  rc::Gen<GenWorkload> steps =
      rc::gen::resize(space.max_steps, rc::gen::container<GenWorkload>(step));
  return rc::gen::suchThat(steps, [](const GenWorkload& w) {
    return std::any_of(w.begin(), w.end(),
                       [](const GenStep& s) { return s.kind == StepKind::kEnqueue; });
  });
}

bool GenBesideKind(const GenStep& g, const WorkloadSpace& space, StepKind* kind) {
  if (g.kind != StepKind::kEnqueue || space.beside_one_in == 0) return false;
  const uint32_t n = 2 * space.beside_one_in;
  if (g.beside == n - 2) {
    *kind = StepKind::kRestart;
    return true;
  }
  if (g.beside == n - 1) {
    *kind = StepKind::kDeliver;
    return true;
  }
  return false;
}

std::vector<Step> ToSteps(const GenWorkload& w, const WorkloadSpace& space) {
  std::vector<Step> out;
  int next_id = 1;
  bool beside_used = false;
  for (const GenStep& g : w) {
    Step s;
    s.kind = g.kind;
    switch (g.kind) {
      case StepKind::kEnqueue:
        s.id = "m" + std::to_string(next_id++);
        for (size_t i = 0; i < space.rcpts.size(); ++i) {
          if (g.rcpt_mask & (uint32_t{1} << i)) s.rcpts.push_back(space.rcpts[i]);
        }
        s.body_size = space.body_sizes.at(g.size_index);
        if (StepKind kind; !beside_used && GenBesideKind(g, space, &kind)) {
          auto b = std::make_shared<Beside>();
          b->step.kind = kind;
          b->where = "(fuzz) step " + std::to_string(out.size() + 1);
          s.beside = std::move(b);
          beside_used = true;
        }
        break;
      case StepKind::kTick:
        s.seconds = space.tick_seconds.at(g.tick_index);
        break;
      case StepKind::kDeliver:
      case StepKind::kRestart:
        break;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string DescribeSteps(const std::vector<Step>& steps) {
  std::string out;
  for (const Step& s : steps) {
    if (!out.empty()) out += "; ";
    if (s.kind == StepKind::kEnqueue) {
      out += "enqueue " + s.id + " ->";
      for (const auto& r : s.rcpts) out += " " + r;
      out += " (" + std::to_string(s.body_size) + " B)";
    } else {
      out += s.MarkData();
    }
    if (s.beside) out += " [" + DescribeSteps({s.beside->step}) + " beside]";
  }
  return out;
}

}  // namespace aftershock
