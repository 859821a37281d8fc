// For bench/harness_bench.sh's floor: records a scenario as `aftershock run`
// does and materializes every crash state it would recover under one model
// (one per distinct state content and promises) into WORKDIR/states/<n>/,
// before recovery. Prints the number of states.
//
//   harness_states SCENARIO MODEL SINK WORKDIR
#include <cstdio>
#include <filesystem>
#include <set>

#include "harness/explore/pipeline.h"

int main(int argc, char** argv) {
  using namespace aftershock;
  namespace fs = std::filesystem;
  if (argc != 5) {
    std::fprintf(stderr, "usage: harness_states SCENARIO MODEL SINK WORKDIR\n");
    return 2;
  }
  Scenario s;
  Manifest m;
  Status st = LoadScenario(argv[1], &s);
  if (st.ok()) st = LoadManifest(s.target, &m);
  if (!st.ok()) {
    std::fprintf(stderr, "harness_states: %s\n", st.message().c_str());
    return 2;
  }
  ToolPaths tools = FindToolPaths();
  tools.sink = fs::absolute(argv[3]).string();
  tools.bin.insert(tools.bin.begin(), fs::path(tools.sink).parent_path().string());
  std::string work = argv[4];
  PipelineContext ctx{&s, &m, &tools, work, 1, SilentObserver()};
  std::unique_ptr<PlannedRecording> rec;
  std::unique_ptr<CrashStateSource> source;
  ExploreOptions options{argv[2], s.strategy, s.seed, s.max_states, s.random_states};
  st = RecordPlanned(ctx, work + "/record", nullptr, &rec);
  if (st.ok()) st = OpenCrashStates(rec->rec.run, options, &source);
  if (!st.ok()) {
    std::fprintf(stderr, "harness_states: %s\n", st.message().c_str());
    return 1;
  }
  // The explorer's VerdictCache key: what `aftershock run` recovers once.
  std::set<std::pair<uint64_t, uint64_t>> seen;
  int64_t explored = 0, n = 0;
  while (explored < s.max_states) {
    std::optional<CrashStateRef> state = source->Next();
    if (!state) break;
    ++explored;
    if (!seen.insert(StateKey(*state, PointOf(rec->plan, state->crash_seq))).second) continue;
    st = MaterializeCrashState(*state, work + "/states/" + std::to_string(n++));
    if (!st.ok()) {
      std::fprintf(stderr, "harness_states: %s\n", st.message().c_str());
      return 1;
    }
  }
  std::printf("%lld\n", static_cast<long long>(n));
  return 0;
}
