#include "harness/target/run_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "injector/command_group.h"
#include "injector/launch.h"
#include "injector/sandbox.h"

namespace aftershock {
namespace {

// The run dir the signal thread removes; set once, before the thread starts.
char g_run_path[4096];
std::atomic<bool> g_keep{false};
std::atomic<bool> g_interrupted{false};

bool IsRunDirName(const std::string& name) {
  // aftershock-<digits>-<hex>
  constexpr std::string_view kPrefix = "aftershock-";
  if (name.rfind(kPrefix, 0) != 0) return false;
  size_t i = kPrefix.size(), digits = 0, hex = 0;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i, ++digits;
  if (digits == 0 || i >= name.size() || name[i] != '-') return false;
  ++i;
  while (i < name.size() && std::isxdigit(static_cast<unsigned char>(name[i]))) ++i, ++hex;
  return hex > 0 && i == name.size();
}

bool StrictlyInside(const std::string& dir, const std::string& path) {
  if (dir.empty() || path.size() <= dir.size() + 1) return false;
  if (path.compare(0, dir.size(), dir) != 0 || path[dir.size()] != '/') return false;
  return path.find("/../") == std::string::npos && path.find("/./") == std::string::npos;
}

int RemoveOne(const char* path, const struct stat*, int type, struct FTW*) {
  return (type == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : 0;
}

bool RemoveTree(const std::string& path) {
  nftw(path.c_str(), RemoveOne, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  struct stat st;
  return lstat(path.c_str(), &st) != 0;
}

int g_signal_pipe[2] = {-1, -1};

// Runs on whatever thread the signal hits: only hands the number over.
void OnSignal(int sig) {
  unsigned char b = static_cast<unsigned char>(sig);
  ssize_t n = write(g_signal_pipe[1], &b, 1);
  (void)n;
}

// Handlers (not a blocked mask) route the signals, so the commands the
// harness starts inherit a clean signal mask.
void CleanupThread() {
  unsigned char sig = 0;
  while (read(g_signal_pipe[0], &sig, 1) != 1) {
  }
  g_interrupted.store(true);
  KillAllLaunched();
  if (!g_keep.load() && g_run_path[0]) {
    umount2(g_run_path, MNT_DETACH);  // its own tmpfs, when it has one: freed at once
    // Workers may still be creating files while the tree goes; a few
    // passes catch up with them (and the next run removes any rest).
    for (int pass = 0; pass < 5 && !RemoveTree(g_run_path); ++pass) {
      KillAllLaunched();
      usleep(20000);
    }
  }
  std::fprintf(stderr, "\naftershock: interrupted (signal %d); scratch removed\n", sig);
  _exit(128 + sig);
}

}  // namespace

bool RemoveTreeInside(const std::string& run_dir, const std::string& path) {
  bool ok = StrictlyInside(run_dir, path);
  if (!ok && path == run_dir) {
    std::filesystem::path p(path);
    ok = IsRunDirName(p.filename().string());
  }
  if (!ok) {
    std::fprintf(stderr, "aftershock: refusing to remove %s (not inside %s)\n", path.c_str(),
                 run_dir.c_str());
    std::abort();
  }
  return RemoveTree(path);
}

int RemoveDeadRuns(const std::string& base) {
  int removed = 0;
  DIR* d = opendir(base.c_str());
  if (!d) return 0;
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    if (IsRunDirName(e->d_name)) names.emplace_back(e->d_name);
  }
  closedir(d);
  for (const auto& name : names) {
    std::string dir = base + "/" + name;
    struct stat st;
    if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) continue;
    if (access((dir + "/keep").c_str(), F_OK) == 0) continue;
    // A live run has its lock from before the directory had this name, so
    // a missing lock means a dead run whose removal was cut short.
    int fd = open((dir + "/lock").c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    bool dead = fd < 0 ? errno == ENOENT : flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (dead && RemoveTreeInside(dir, dir)) ++removed;
    if (fd >= 0) close(fd);
  }
  return removed;
}

namespace {

// Where run directories are made: `base`, $AFTERSHOCK_SCRATCH, /dev/shm.
Status ScratchBase(const std::string& base, std::string* out) {
  const char* env = std::getenv("AFTERSHOCK_SCRATCH");
  *out = !base.empty() ? base : env != nullptr && *env != '\0' ? env : "/dev/shm";
  struct stat st;
  if (out->front() != '/' || stat(out->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::Error("the scratch base " + *out +
                         (base.empty() && env != nullptr ? " (AFTERSHOCK_SCRATCH)" : "") +
                         " is not an absolute path to a directory");
  }
  return Status::Ok();
}

}  // namespace

Status RunDir::Create(std::unique_ptr<RunDir>* out, const std::string& requested_base) {
  std::string base;
  if (Status st = ScratchBase(requested_base, &base); !st.ok()) return st;
  RemoveDeadRuns(base);
  std::unique_ptr<RunDir> run(new RunDir);
  run->on_tmpfs_base_ = base == "/dev/shm";
  std::random_device rd;
  char name[96];
  std::snprintf(name, sizeof name, "aftershock-%d-%08x", RunPid(), rd());
  run->path_ = base + "/" + name;
  // Signals are routed to the cleanup thread before the directory exists,
  // so no moment leaves it behind.
  std::snprintf(g_run_path, sizeof g_run_path, "%s", run->path_.c_str());
  if (g_signal_pipe[0] < 0 && pipe2(g_signal_pipe, O_CLOEXEC) == 0) {
    struct sigaction sa = {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaction(s, &sa, nullptr);
    std::thread(CleanupThread).detach();
  }
  // Built under a name other runs ignore and renamed once locked: a
  // starting run never sees it unlocked and takes it for a dead one.
  std::string building = base + "/." + name + ".new";
  // Searchable by every user, listable by none: a target that drops its
  // privileges (Postfix's daemons run as the user postfix) must reach its
  // root. The names below it are aftershock's and not secret.
  if (mkdir(building.c_str(), 0711) != 0 || chmod(building.c_str(), 0711) != 0) {
    return Status::Error("cannot create " + building + ": " + std::strerror(errno));
  }
  run->lock_fd_ = open((building + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (run->lock_fd_ < 0 || flock(run->lock_fd_, LOCK_EX) != 0 ||
      rename(building.c_str(), run->path_.c_str()) != 0) {
    Status failed = Status::Error("cannot lock " + building + "/lock: " + std::strerror(errno));
    unlink((building + "/lock").c_str());
    rmdir(building.c_str());
    return failed;
  }
  AdoptLeftovers();
  std::string pid = std::to_string(RunPid()) + "\n";
  if (write(run->lock_fd_, pid.data(), pid.size()) < 0) {
    // The pid is for people; the flock is what marks the run as alive.
  }
  *out = std::move(run);
  return Status::Ok();
}

void RunDir::Keep() {
  keep_ = true;
  g_keep.store(true);
  int fd = open((path_ + "/keep").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
}

std::string RunDir::MakeDir(const std::string& rel) {
  std::string p = path_ + "/" + rel;
  std::filesystem::create_directories(p);
  return p;
}

void WaitIfInterrupted() {
  if (!g_interrupted.load()) return;
  for (;;) pause();  // the cleanup thread ends the process
}

RunDir::~RunDir() {
  WaitIfInterrupted();
  // No command runs any more: what is left are processes they left behind.
  KillLeftovers();
  if (scratch_mounted_) umount2(path_.c_str(), MNT_DETACH);
  if (!keep_) RemoveTreeInside(path_, path_);
  if (lock_fd_ >= 0) close(lock_fd_);
  g_run_path[0] = 0;
}

// Limits the run directory itself (a tmpfs of its own, seen only inside
// the run's namespace) unless it is kept for people to look at.
std::string RunDir::LimitScratch(uint64_t mib) {
  // A scratch base of the user's choice (AFTERSHOCK_SCRATCH) is kept as it
  // is: it was chosen for what tmpfs lacks, or for room.
  if (keep_ || mib == 0 || !on_tmpfs_base_) return "";
  if (!InRunNamespace()) return "; its size is not limited (no namespace of its own)";
  if (!MountScratch(path_, mib)) {
    return std::string("; its size is not limited (tmpfs: ") + std::strerror(errno) + ")";
  }
  scratch_mounted_ = true;
  return "; at most " + std::to_string(mib) + " MiB";
}

std::string RunDir::ConfineTargets(const Confinement& c, std::vector<std::string>* notes) {
  DisableSandbox();
  if (!c.enabled) return "not sandboxed (--no-sandbox): they can change files outside their root";
  std::string scratch = LimitScratch(c.limits.scratch_mib);
  std::string why;
  if (!ConfigureSandbox({path_}, c.limits, &why, notes)) {
    return "not sandboxed (" + why + "): they can change files outside their root";
  }
  std::string how = "sandboxed: every file system read-only except " + path_ + scratch;
  if (SandboxHasPrivateTmp()) {
    how += "; private /tmp and /dev/shm";
  } else {
    // /tmp is read-only there: temporary files go to a directory of the run
    // (mktemp, shells' here-documents, SQLite and most tools honour TMPDIR).
    const std::string tmp = MakeDir("tmp");
    ::setenv("TMPDIR", tmp.c_str(), 1);
    how += " (TMPDIR=" + tmp + ")";
  }
  if (SandboxHasOwnNetwork()) how += "; loopback only, unless the manifest sets commands.network";
  how += InRunNamespace() ? "; in the run's PID namespace (every process ends with the run)"
                          : "; no PID namespace (a process left running outlives a killed run)";
  CommandLimits limits = c.limits;
  if (!CommandGroup::CanLimitProcesses() && limits.processes != 0) {
    limits.processes = 0;
    how += "; no process limit (no control group can be made here)";
  }
  if (!CommandGroup::CanKillAll()) {
    how += "; a process a command leaves in a session of its own lives until the scenario ends";
  }
  return how + "; " + DescribeLimits(limits);
}

}  // namespace aftershock
