// `aftershock merge SHARD_OUT... --out DIR`: the shards of one run
// (--shard K/N, docs/scale-out.md) joined into one report, judged as the
// unsharded run would be.
#include <cstdio>
#include <filesystem>

#include "harness/cli/command.h"
#include "harness/cli/terminal.h"
#include "harness/explore/staged_out.h"
#include "harness/target/command_env.h"
#include "reports/merge.h"
#include "reports/writers.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;

struct MergeOptions {
  std::vector<std::string> shards;
  std::string out;
  bool quiet = false;
};

// Every shard's report.json. A shard without one was interrupted, or
// stopped before its reports.
Status ReadShards(const std::vector<std::string>& dirs, std::vector<ShardReport>* out) {
  for (const std::string& dir : dirs) {
    std::error_code ec;
    if (!fs::is_regular_file(dir + "/report.json", ec)) {
      return Status::Error(dir + " has no report.json: that shard was interrupted or stopped "
                                 "before writing its reports (see its output)");
    }
    ShardReport s{dir, {}};
    if (Status st = ReadReportFile(dir + "/report.json", &s.report); !st.ok()) return st;
    out->push_back(std::move(s));
  }
  return Status::Ok();
}

// --out must not be a shard's directory: the merge replaces it.
Status CheckOut(const MergeOptions& o) {
  std::error_code ec;
  for (const std::string& dir : o.shards) {
    if (fs::exists(o.out, ec) && fs::equivalent(o.out, dir, ec)) {
      return Status::Error("--out " + o.out + " is one of the shards: give a directory of its own");
    }
  }
  return Status::Ok();
}

// The recordings (for replay) and the commands' logs, each shard's: a
// group's example log is in the shard that checked its state.
Status CopyLogs(const std::vector<ShardReport>& shards, const std::string& into) {
  for (const ShardReport& s : shards) {
    for (const char* sub : {"logs", "recordings"}) {
      std::error_code ec;
      if (!fs::is_directory(s.dir + "/" + sub, ec)) continue;
      fs::copy(s.dir + "/" + sub, into + "/" + sub,
               fs::copy_options::recursive | fs::copy_options::skip_existing, ec);
      if (ec) return Status::Error("copy " + s.dir + "/" + sub + ": " + ec.message());
    }
  }
  return Status::Ok();
}

Status Merge(const MergeOptions& o, Report* merged) {
  if (Status st = CheckOut(o); !st.ok()) return st;
  std::vector<ShardReport> shards;
  if (Status st = ReadShards(o.shards, &shards); !st.ok()) return st;
  if (Status st = MergeShards(shards, merged); !st.ok()) return st;
  merged->command_line = OwnCommandLine();
  std::string report_path = fs::absolute(o.out).lexically_normal().string() + "/report.json";
  for (ScenarioResult& s : merged->scenarios) {
    for (ModelResult& m : s.models) {
      for (ViolationGroup& g : m.groups) g.reproduce = ReproduceFrom(g.reproduce, report_path);
    }
  }
  StagedOut staged;
  if (Status st = staged.Begin(o.out); !st.ok()) return Status::Error("--out " + st.message());
  if (Status st = CopyLogs(shards, staged.path()); !st.ok()) return st;
  if (Status st = WriteReports(*merged, staged.path()); !st.ok()) return st;
  return staged.Commit();
}

void SetupMerge(CLI::App& app, int* exit_status) {
  auto o = std::make_shared<MergeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "merge",
      "Join the --out directories of a run's shards (--shard K/N) into one report.json, "
      "junit.xml, summary.md, report.html and results.sarif, judged as the unsharded run. "
      "Refuses (exit 2) shards of different runs, a missing or duplicated shard, and a shard "
      "without reports.");
  cmd->add_option("SHARD_OUT", o->shards, "every shard's --out directory")->required();
  cmd->add_option("--out", o->out, "directory for the merged reports")
      ->required()
      ->check(OutputDirValidator());
  cmd->add_flag("--quiet,-q", o->quiet, "print nothing but errors");
  cmd->callback([o, exit_status] {
    Report merged;
    if (Status st = Merge(*o, &merged); !st.ok()) {
      std::fprintf(stderr, "aftershock merge: %s\n", st.message().c_str());
      *exit_status = 2;
      return;
    }
    if (!o->quiet) {
      std::printf("merged %d shards\n", merged.merged_shards);
      PrintReportSummary(merged, o->out);
    }
    bool errors = false;
    for (const auto& s : merged.scenarios) errors = errors || !s.error.empty();
    *exit_status = errors ? 2 : ExitStatus(merged);
  });
}

const bool kMergeRegistered = RegisterCommand({"merge", 6, SetupMerge});

}  // namespace
}  // namespace aftershock
