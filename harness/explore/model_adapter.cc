#include "harness/explore/model_adapter.h"

#include <sys/stat.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "injector/fidelity.h"
#include "injector/launch.h"
#include "model/crash_states.h"
#include "model/fs_state.h"
#include "model/op_source.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;

uint64_t HashTree(const std::string& dir) {
  XXH64_state_t* st = XXH64_createState();
  XXH64_reset(st, 0);
  std::vector<fs::path> paths;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    paths.push_back(it->path());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& p : paths) {
    std::string rel = fs::relative(p, dir).string();
    XXH64_update(st, rel.data(), rel.size() + 1);
    auto status = fs::symlink_status(p);
    uint32_t perms =
        static_cast<uint32_t>(status.permissions()) | (static_cast<uint32_t>(status.type()) << 16);
    XXH64_update(st, &perms, sizeof perms);
    if (status.type() == fs::file_type::regular) {
      std::ifstream in(p, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string bytes = ss.str();
      uint64_t size = bytes.size();
      XXH64_update(st, &size, sizeof size);
      XXH64_update(st, bytes.data(), bytes.size());
    } else if (status.type() == fs::file_type::symlink) {
      std::string target = fs::read_symlink(p, ec).string();
      XXH64_update(st, target.data(), target.size());
    }
  }
  uint64_t h = XXH64_digest(st);
  XXH64_freeState(st);
  return h;
}

class Snapshot : public StatePayload {
 public:
  explicit Snapshot(std::string dir) : dir_(std::move(dir)) {}
  Status MaterializeInto(const std::string& dir) const override { return CopyTree(dir_, dir); }

 private:
  std::string dir_;
};

class ModelState : public StatePayload {
 public:
  explicit ModelState(FsState state) : state_(std::move(state)) {}
  Status MaterializeInto(const std::string& dir) const override {
    std::error_code ec;
    fs::create_directories(dir, ec);
    Status st = Materialize(state_, dir);
    if (!st.ok()) return Status::Error(dir + ": " + st.message());
    return Status::Ok();
  }

 private:
  FsState state_;
};

// The model's generator over the recorded trace.
class ModelSource : public CrashStateSource {
 public:
  ModelSource(FsState initial, const std::string& trace_path, CrashOptions options)
      : ops_(trace_path), generator_(std::move(initial), &ops_, std::move(options)) {}
  std::optional<CrashStateRef> Next() override {
    std::optional<CrashState> cs = generator_.Next();
    if (!cs) return std::nullopt;
    CrashStateRef s;
    s.id = cs->id;
    // The model's crash_seq is the last op that completed; ours is the
    // first seq that did not happen.
    s.crash_seq = cs->crash_seq + 1;
    s.dropped_seqs = cs->dropped_seqs;
    for (const TornInfo& t : cs->torn) s.torn_seqs.push_back(t.seq);
    s.lost_seqs = cs->lost_seqs;
    s.description = cs->description;
    s.hash = cs->hash128.low ^ (cs->hash128.high * 0x9e3779b97f4a7c15ULL);
    s.payload = std::make_shared<ModelState>(std::move(cs->state));
    if (cs->gap) s.unproven = cs->gap->reason;
    return s;
  }
  int64_t Generated() const override { return static_cast<int64_t>(generator_.stats().generated); }
  int64_t Pruned() const override { return static_cast<int64_t>(generator_.stats().pruned); }
  std::string Error() const override {
    if (!generator_.status().ok()) return generator_.status().message();
    return ops_.Error();
  }

 private:
  FileOpSource ops_;
  CrashStateGenerator generator_;
};

// Stand-in: one state per step boundary (the `process` model's crash
// points between steps), deduplicated by content.
class SnapshotSource : public CrashStateSource {
 public:
  explicit SnapshotSource(const RecordedRun& run) {
    for (const auto& [seq, dir] : run.snapshots) points_.emplace_back(seq, dir);
    points_.emplace_back(run.final_seq, run.final_snapshot);
  }
  std::optional<CrashStateRef> Next() override {
    while (next_ < points_.size()) {
      auto [seq, dir] = points_[next_++];
      uint64_t h = HashTree(dir);
      if (!seen_.insert(h).second) continue;
      CrashStateRef s;
      s.id = "c" + std::to_string(seq);
      s.crash_seq = seq;
      s.description = "crash before seq " + std::to_string(seq) + " (between workload steps)";
      s.hash = h;
      s.payload = std::make_shared<Snapshot>(dir);
      return s;
    }
    return std::nullopt;
  }
  int64_t Generated() const override { return static_cast<int64_t>(next_); }

 private:
  std::vector<std::pair<uint64_t, std::string>> points_;
  size_t next_ = 0;
  std::set<uint64_t> seen_;
};

}  // namespace

bool ModelAvailable() { return TracingAvailable(); }

Status OpenCrashStates(const RecordedRun& run, const ExploreOptions& options,
                       std::unique_ptr<CrashStateSource>* out,
                       const std::vector<std::string>& rebuilt) {
  if (!run.snapshots.empty()) {
    *out = std::make_unique<SnapshotSource>(run);
    return Status::Ok();
  }
  CrashOptions o;
  std::optional<PersistenceModel> model = PersistenceModel::Parse(options.model);
  std::optional<Strategy> strategy = ParseStrategy(options.strategy);
  if (!model || !strategy) {
    return Status::Error("the model does not know '" + options.model + "' / '" + options.strategy +
                         "'");
  }
  o.model = *model;
  o.strategy = *strategy;
  o.seed = options.seed;
  o.random_count = static_cast<uint64_t>(options.random_states);
  o.root = run.root;
  o.gap_rebuilt = rebuilt;
  o.unknown_files = run.unknown_files;
  o.unknown_reason = run.unknown_reason;
  Status status;
  std::optional<FsState> initial = Capture(run.initial_dir, &status);
  if (!initial) return Status::Error(run.initial_dir + ": " + status.message());
  initial->SetRoot(run.root);
  *out = std::make_unique<ModelSource>(std::move(*initial), run.trace_path, std::move(o));
  return Status::Ok();
}

FidelityResult CheckFidelity(const RecordedRun& run) {
  FidelityResult r;
  r.ok = true;
  if (!run.snapshots.empty() || !ModelAvailable()) return r;
  Status status;
  std::optional<FsState> state = Capture(run.initial_dir, &status);
  if (!state) {
    r.ok = false;
    r.gap = "recorder gap: cannot read the initial state: " + status.message();
    return r;
  }
  state->SetRoot(run.root);
  FileOpSource ops(run.trace_path);
  return CheckFidelity(std::move(*state), &ops, run.trace_path);
}

CrashStateRef EndStateOf(const RecordedRun& run) {
  CrashStateRef s;
  s.id = "end";
  s.crash_seq = run.final_seq;
  s.description = "no crash: the state the whole run left";
  s.payload = std::make_shared<Snapshot>(run.root);
  return s;
}

Status MaterializeCrashState(const CrashStateRef& state, const std::string& dir) {
  return state.payload->MaterializeInto(dir);
}

namespace {

// Copies one entry (not a directory's contents). Sockets are skipped: a
// socket file is a name bind(2) left, not data (the models do not hold
// them either: model/fs_disk.cc), and a server binds it again.
void CopyEntry(const fs::directory_entry& e, const fs::path& dst, std::error_code& ec) {
  const fs::file_status st = e.symlink_status(ec);
  if (ec) return;
  // Copied again into the same place: what is there gives way (not a
  // directory, whose contents are copied over).
  const fs::file_status there = fs::symlink_status(dst, ec);
  ec.clear();
  if (fs::exists(there) && !(fs::is_directory(there) && st.type() == fs::file_type::directory)) {
    fs::remove_all(dst, ec);
    if (ec) return;
  }
  switch (st.type()) {
    case fs::file_type::directory:
      fs::create_directory(dst, ec);
      return;
    case fs::file_type::symlink:
      fs::copy_symlink(e.path(), dst, ec);
      return;
    case fs::file_type::regular:
      fs::copy_file(e.path(), dst, fs::copy_options::overwrite_existing, ec);
      return;
    case fs::file_type::fifo:
      if (::mkfifo(dst.c_str(), 0600) != 0) ec = std::error_code(errno, std::generic_category());
      return;
    default:
      return;
  }
}

// The mode of `src` on `dst`, exactly: fs::copy and mkdir go through the
// umask, and a queue's group-writable drop directory (Postfix's maildrop/,
// 0730) would come out 0710.
bool CopyMode(const fs::path& src, const fs::path& dst) {
  struct stat sb {};
  if (::lstat(src.c_str(), &sb) != 0) return false;
  if (S_ISLNK(sb.st_mode) || S_ISSOCK(sb.st_mode)) return true;
  return ::chmod(dst.c_str(), sb.st_mode & 07777) == 0;
}

}  // namespace

// Names, bytes and modes; owners are the copier's.
Status CopyTree(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  std::vector<std::pair<fs::path, fs::path>> dirs;  // modes set last, deepest first
  for (fs::recursive_directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path dst = fs::path(to) / it->path().lexically_relative(from);
    CopyEntry(*it, dst, ec);
    if (ec)
      return Status::Error("copy " + it->path().string() + " -> " + dst.string() + ": " +
                           ec.message());
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      dirs.emplace_back(it->path(), dst);
    } else if (!CopyMode(it->path(), dst)) {
      return Status::Error("chmod " + dst.string() + ": " + std::strerror(errno));
    }
  }
  if (ec) return Status::Error("copy " + from + " -> " + to + ": " + ec.message());
  dirs.emplace_back(from, to);
  for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) {
    if (!CopyMode(d->first, d->second)) {
      return Status::Error("chmod " + d->second.string() + ": " + std::strerror(errno));
    }
  }
  return Status::Ok();
}

}  // namespace aftershock
