// Crash states generated and materialized per second, for a synthetic trace
// of refqueue-like messages, under each persistence model and strategy.
//
//   model_bench [messages=1000] [max_states_per_run=20000] [materialize_sample=2000]
//
// Each message: create tmp/<id>, write header and body, fsync, fchmod +x,
// fsync, rename into queue/, fsync queue/, ack; every 10 messages a delivery
// run: per message a sink mark, the done-mark pwrite + fsync, unlink.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "model/crash_states.h"
#include "model/trace_builder.h"

namespace aftershock {
namespace {

using Clock = std::chrono::steady_clock;

// Writes the trace message by message, never holding it whole. Returns the op count.
uint64_t Synthesize(const FsState& initial, int messages, TraceWriter* out) {
  uint64_t count = 0;
  TraceBuilder t("/aftershock/root", &initial);
  auto flush = [&] {
    for (const Op& op : t.ops()) out->Append(op);
    count += t.ops().size();
    t.ops().clear();
  };
  int queue_dir = t.OpenDir("queue");
  std::vector<std::string> queued;
  for (int m = 1; m <= messages; ++m) {
    const std::string id = "m" + std::to_string(m);
    t.SetPid(1000 + 2 * m);
    t.Mark("step", "enqueue " + id);
    int fd = t.Create("tmp/" + id, 0600);
    std::string header = "R alice@local\nR bob@remote\nD ..\nD ..\n";  // done marks at 29, 33
    t.Write(fd, header);
    t.Write(fd, std::string(900 + (m * 37) % 400, static_cast<char>('a' + m % 26)));
    t.Fsync(fd);
    t.Fchmod(fd, 0700);  // complete: Postfix's +x
    t.Fsync(fd);
    t.Close(fd);
    t.Rename("tmp/" + id, "queue/" + id);
    t.Fsync(queue_dir);
    t.Mark("ack", id + " alice@local bob@remote");
    queued.push_back(id);
    flush();
    if (m % 10 != 0 && m != messages) continue;
    t.SetPid(999);
    t.Mark("step", "deliver");
    for (const std::string& q : queued) {
      int qfd = t.Open("queue/" + q, O_RDWR);
      t.Mark("sink", q + " alice@local 00000000deadbeef");
      t.Pwrite(qfd, 29, "X");
      t.Fsync(qfd);
      t.Mark("sink", q + " bob@remote 00000000deadbeef");
      t.Pwrite(qfd, 33, "X");
      t.Fsync(qfd);
      t.Close(qfd);
      t.Unlink("queue/" + q);
    }
    queued.clear();
    flush();
  }
  return count;
}

long MaxRssKiB() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

struct Figures {
  uint64_t generated = 0, emitted = 0, merged = 0, materialized = 0;
  double gen_s = 0, mat_s = 0;
};

Figures Run(const std::string& trace_path, const FsState& initial, const CrashOptions& options,
            uint64_t materialize_sample, const std::string& scratch) {
  Figures f;
  FileOpSource source(trace_path);
  CrashStateGenerator gen(initial, &source, options);
  auto t0 = Clock::now();
  std::chrono::duration<double> mat{0};
  while (auto cs = gen.Next()) {
    if (f.materialized >= materialize_sample) continue;
    auto m0 = Clock::now();
    std::string dir = scratch + "/s";
    ::mkdir(dir.c_str(), 0700);
    Status st = Materialize(cs->state, dir);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    mat += Clock::now() - m0;
    if (!st.ok()) std::fprintf(stderr, "materialize: %s\n", st.message().c_str());
    ++f.materialized;
  }
  std::chrono::duration<double> total = Clock::now() - t0;
  if (!gen.status().ok()) std::fprintf(stderr, "generator: %s\n", gen.status().message().c_str());
  f.generated = gen.stats().generated;
  f.emitted = gen.stats().emitted;
  f.merged = gen.stats().merged;
  f.mat_s = mat.count();
  f.gen_s = total.count() - f.mat_s;
  return f;
}

}  // namespace
}  // namespace aftershock

int main(int argc, char** argv) {
  using namespace aftershock;
  const int messages = argc > 1 ? std::atoi(argv[1]) : 1000;
  const uint64_t max_states = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 20000;
  const uint64_t sample = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 2000;

  FsState initial;
  for (const char* d : {"tmp", "queue"}) (void)initial.AddDirectory(d, 0700);
  std::string scratch = (std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp") +
                        std::string("/aftershock-model-bench.XXXXXX");
  scratch = mkdtemp(scratch.data());
  const std::string trace_path = scratch + "/trace.bin";
  uint64_t op_count = 0;
  {
    TraceWriter w(trace_path);
    op_count = Synthesize(initial, messages, &w);
  }
  std::printf("trace: %d messages, %llu ops; states per run capped at %llu, %llu materialized\n",
              messages, static_cast<unsigned long long>(op_count),
              static_cast<unsigned long long>(max_states), static_cast<unsigned long long>(sample));
  std::printf("%-22s %-11s %9s %9s %7s %12s %14s\n", "model", "strategy", "generated", "emitted",
              "dedup", "generated/s", "materialized/s");
  for (const char* model : {"process", "posix", "ext4-ordered", "posix+torn"}) {
    for (Strategy s :
         {Strategy::kPrefix, Strategy::kOmitOne, Strategy::kRandom, Strategy::kExhaustive}) {
      CrashOptions o;
      o.model = *PersistenceModel::Parse(model);
      o.strategy = s;
      o.random_count = 1000;
      o.exhaustive_bound = 64;
      o.max_states = max_states;
      Figures f = Run(trace_path, initial, o, sample, scratch);
      std::printf(
          "%-22s %-11s %9llu %9llu %6.1f%% %12.0f %14.0f\n", model, StrategyName(s),
          static_cast<unsigned long long>(f.generated), static_cast<unsigned long long>(f.emitted),
          f.generated ? 100.0 * f.merged / f.generated : 0.0,
          f.gen_s > 0 ? f.generated / f.gen_s : 0.0, f.mat_s > 0 ? f.materialized / f.mat_s : 0.0);
    }
  }
  std::printf("dedup = merged / generated. max RSS %ld KiB\n", MaxRssKiB());
  std::error_code ec;
  std::filesystem::remove_all(scratch, ec);
  return 0;
}
