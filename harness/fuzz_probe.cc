#include "harness/fuzz_probe.h"

#include <filesystem>
#include <mutex>
#include <thread>

#include "harness/explorer.h"
#include "harness/recovery.h"
#include "harness/run_dir.h"
#include "harness/runner.h"

namespace aftershock {

bool ProbeWorkload(const Scenario& s, const ProbeSetup& setup, const std::string& work_dir,
                   bool stop_at_first, ProbeResult* out, std::string* error) {
  namespace fs = std::filesystem;
  *out = ProbeResult();
  struct Cleanup {
    const ProbeSetup& setup;
    const std::string& dir;
    ~Cleanup() {
      if (fs::exists(dir)) RemoveTreeInside(setup.run_dir, dir);
    }
  } cleanup{setup, work_dir};
  fs::create_directories(work_dir);

  Recording rec;
  if (!RecordWorkload(s, *setup.manifest, *setup.tools, work_dir + "/record", &rec, error)) {
    return false;
  }
  out->notes = rec.notes;
  RecoveryPlan plan;
  plan.scenario = &s;
  plan.manifest = setup.manifest;
  plan.tools = setup.tools;
  plan.recording = &rec;
  MailFacts facts;
  if (!PreparePlan(&plan, &facts, error)) return false;

  // Identical states (same content, same promises) are checked once across
  // the models and the recordings, as `aftershock run` does.
  VerdictCache cache;
  for (const std::string& model : s.models) {
    ProbeModel pm;
    pm.model = model;
    out->models.push_back(pm);
  }
  bool stop = false;
  // Explores one recording (the sequential one, then each interleaving)
  // under every model, adding to out->models; crash points at or before
  // skip_through_seq are the sequential recording's.
  auto explore = [&](const RecoveryPlan& p, const std::string& id_prefix,
                     const std::string& cause_prefix, uint64_t skip_through_seq) {
    for (size_t mi = 0; mi < s.models.size() && !stop; ++mi) {
      const std::string& model = s.models[mi];
      ExploreOptions options{model, s.strategy, s.seed, s.max_states, s.random_states};
      std::unique_ptr<CrashStateSource> source = OpenCrashStates(p.recording->run, options, error);
      if (!source) return false;
      ProbeModel& pm = out->models[mi];
      std::mutex mu;  // guards source, pm, out, first_error, explored, stop
      std::string first_error;
      int64_t explored = 0;
      auto worker = [&](int k) {
        std::string scratch = work_dir + "/w" + std::to_string(k);
        for (;;) {
          std::optional<CrashStateRef> state;
          {
            std::lock_guard<std::mutex> lock(mu);
            if (stop || !first_error.empty() || explored >= s.max_states) return;
            state = source->Next();
            while (state && state->crash_seq <= skip_through_seq) state = source->Next();
            if (!state) return;
            ++explored;
          }
          CrashPoint point = PointOf(p, state->crash_seq);
          std::pair<uint64_t, uint64_t> key{state->hash, point.Key()};
          VerdictCache::Entry entry;
          if (!cache.Find(key, &entry)) {
            if (fs::exists(scratch)) RemoveTreeInside(setup.run_dir, scratch);
            fs::create_directories(scratch);
            CheckInput input;
            std::string err;
            if (!RecoverState(p, *state, point, scratch, &input, &err)) {
              std::lock_guard<std::mutex> lock(mu);
              if (first_error.empty()) first_error = err;
              return;
            }
            CheckResult r = Check(input);
            entry = {r.verdict, r.detail, r.has_duplicate};
            cache.Put(key, entry);
          }
          if (setup.states_done) setup.states_done->fetch_add(1);
          std::lock_guard<std::mutex> lock(mu);
          ++pm.verdicts[static_cast<int>(entry.verdict)];
          ++pm.states;
          ++out->states;
          if (IsViolation(entry.verdict) && !out->violation) {
            out->violation = true;
            out->verdict = entry.verdict;
            out->model = model;
            out->detail = cause_prefix + entry.detail;
            out->description = id_prefix.empty()
                                   ? state->description
                                   : id_prefix + state->id + ": " + state->description;
          }
          if (IsViolation(entry.verdict) && stop_at_first) {
            stop = true;
            pm.complete = false;
          }
        }
      };
      std::vector<std::thread> threads;
      for (int k = 0; k < std::max(1, setup.jobs); ++k) threads.emplace_back(worker, k);
      for (auto& t : threads) t.join();
      WaitIfInterrupted();
      if (!first_error.empty()) {
        *error = first_error;
        return false;
      }
      if (!source->Error().empty()) {
        *error = "the model failed under " + model + ": " + source->Error();
        return false;
      }
    }
    return true;
  };
  if (!explore(plan, "", "", 0)) return false;
  // Every interleaving of a step with its beside step (a fuzz workload has
  // at most one such step), as `aftershock run` explores them.
  for (const Interleaving& il : Interleavings(s, rec, &out->notes)) {
    if (stop) break;
    std::string prefix = InterleavingPrefix(s, il);
    std::string dir = work_dir + "/i" + std::to_string(il.step) + "-" + std::to_string(il.hit);
    Recording irec;
    if (!RecordWorkload(s, *setup.manifest, *setup.tools, dir, &irec, error, &il)) return false;
    if (irec.paused) {
      RecoveryPlan iplan = plan;
      iplan.recording = &irec;
      MailFacts ifacts;
      if (!PreparePlan(&iplan, &ifacts, error)) return false;
      if (!explore(iplan, prefix, irec.beside_label + ": ", irec.beside_mark_seq)) return false;
    }
    RemoveTreeInside(setup.run_dir, dir);
  }
  // Models never reached (stopped at the first violation) are not listed.
  while (!out->models.empty() && out->models.back().states == 0 && stop) out->models.pop_back();
  return true;
}

}  // namespace aftershock
