#include "injector/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cassert>
#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

#include "injector/children.h"
#include "injector/fields.h"

namespace aftershock {
namespace {

// Directories every command gets a fresh tmpfs on.
constexpr const char* kPrivateDirs[] = {"/tmp", "/dev/shm"};
constexpr int kPrivateCount = 2;

struct Plan {
  bool active = false;
  CommandLimits limits;
  std::vector<std::string> writable;
  std::vector<std::string> readonly;    // mount points, parents first
  std::vector<unsigned long> flags;     // per mount point: its flags kept on the remount
  bool private_ok[kPrivateCount] = {};  // kPrivateDirs[i] gets its tmpfs
  bool own_network = false;             // the probe could make a network namespace
  std::string tmpfs_options;            // "size=...m,mode=1777"
  // Per writable directory under a private tmpfs: the directories to create
  // there before it is bound back from a descriptor opened before the tmpfs
  // hid it.
  std::vector<std::vector<std::string>> make_first;
};

// Writable directories a plan may hold: the child that enters it keeps its
// descriptors on its own stack (it shares the launcher's memory, children.h).
constexpr size_t kMaxWritable = 64;

Plan g_plan;

// A mount point as /proc/self/mountinfo writes it: \040 for a space, ...
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool Under(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

// Kernel interfaces and devices stay as they are; /dev/shm holds files.
bool Kept(const std::string& mount_point) {
  if (Under(mount_point, "/proc") || Under(mount_point, "/sys")) return true;
  return Under(mount_point, "/dev") && !Under(mount_point, "/dev/shm");
}

// The flags a bind remount must repeat so that it only adds MS_RDONLY.
unsigned long FlagsOf(const std::string& mount_point) {
  struct statvfs sv;
  if (::statvfs(mount_point.c_str(), &sv) != 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

bool UnderPrivate(const Plan& p, const std::string& path) {
  for (int i = 0; i < kPrivateCount; ++i) {
    if (p.private_ok[i] && Under(path, kPrivateDirs[i])) return true;
  }
  return false;
}

// The directories from the private tmpfs above `w` down to `w`.
std::vector<std::string> DirsToMake(const Plan& p, const std::string& w) {
  std::vector<std::string> dirs;
  for (int k = 0; k < kPrivateCount; ++k) {
    const std::string d = kPrivateDirs[k];
    if (!p.private_ok[k] || !Under(w, d) || w == d) continue;
    for (size_t i = d.size() + 1; i <= w.size(); ++i) {
      if (i == w.size() || w[i] == '/') dirs.push_back(w.substr(0, i));
    }
  }
  return dirs;
}

void PlanBinds(Plan* p) {
  for (size_t i = 0; i < p->writable.size(); ++i) {
    p->make_first.push_back(DirsToMake(*p, p->writable[i]));
  }
}

// use_private: bit i set iff kPrivateDirs[i] gets a tmpfs.
Plan PlanFor(const std::vector<std::string>& writable, const CommandLimits& limits,
             unsigned use_private) {
  Plan p;
  p.writable = writable;
  p.limits = limits;
  for (int i = 0; i < kPrivateCount; ++i) p.private_ok[i] = (use_private >> i) & 1;
  p.tmpfs_options =
      "size=" + std::to_string(limits.scratch_mib ? limits.scratch_mib : 1 << 20) + "m,mode=1777";
  PlanBinds(&p);
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point;
    if (!(fields >> id >> parent >> dev >> root >> mount_point)) continue;
    mount_point = Unescape(mount_point);
    if (Kept(mount_point)) continue;
    bool inside = false;
    for (const std::string& w : writable) inside |= Under(mount_point, w) && mount_point != "/";
    if (inside || UnderPrivate(p, mount_point)) continue;
    p.readonly.push_back(mount_point);
    p.flags.push_back(FlagsOf(mount_point));
  }
  return p;
}

// Steps of EnterSandbox, for the probe's report: fatal ones, and (from
// kPrivateStep down) a private directory that keeps the machine's mount.
enum Step : int { kUnshare = -1, kPrivate = -2, kBind = -3, kPrivateStep = -10 };

void Report(int report, int step, int err) {
  if (report < 0) return;
  int msg[2] = {step, err};
  (void)!::write(report, msg, sizeof msg);
}

// "/proc/self/fd/N" into buf, without allocating (between fork and exec).
const char* FdPath(char (&buf)[32], int fd) {
  char digits[12];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + fd % 10);
    fd /= 10;
  } while (fd > 0 && n < 11);
  const char prefix[] = "/proc/self/fd/";
  size_t i = 0;
  for (; prefix[i] != 0; ++i) buf[i] = prefix[i];
  while (n > 0) buf[i++] = digits[--n];
  buf[i] = 0;
  return buf;
}

// The writable directories: bound onto themselves, or (under a private
// tmpfs) re-created there and bound from the fd opened before it.
bool BindWritable(const Plan& p, const int* fds) {
  for (size_t i = 0; i < p.writable.size(); ++i) {
    const char* w = p.writable[i].c_str();
    if (fds[i] < 0) {
      if (::mount(w, w, nullptr, MS_BIND | MS_REC, nullptr) != 0) return false;
      continue;
    }
    for (const std::string& d : p.make_first[i]) ::mkdir(d.c_str(), 0700);
    char from[32];
    if (::mount(FdPath(from, fds[i]), w, nullptr, MS_BIND | MS_REC, nullptr) != 0) return false;
    ::close(fds[i]);
  }
  return true;
}

void MountPrivate(const Plan& p, int* fds, int report) {
  for (size_t i = 0; i < p.writable.size(); ++i) {
    fds[i] = -1;
    if (p.make_first[i].empty()) continue;
    fds[i] = ::open(p.writable[i].c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  for (int i = 0; i < kPrivateCount; ++i) {
    if (!p.private_ok[i]) continue;
    if (::mount("tmpfs", kPrivateDirs[i], "tmpfs", MS_NOSUID | MS_NODEV, p.tmpfs_options.c_str()) !=
        0) {
      Report(report, kPrivateStep - i, errno);
    }
  }
}

// A network namespace of its own, with loopback up (a target may talk to
// itself on 127.0.0.1); false if the kernel refused.
bool LeaveNetwork() {
  if (::unshare(CLONE_NEWNET) != 0) return false;
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return true;
  struct ifreq ifr = {};
  const char lo[] = "lo";
  for (size_t i = 0; i < sizeof lo; ++i) ifr.ifr_name[i] = lo[i];
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    (void)::ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  ::close(s);
  return true;
}

void ApplyLimits(const CommandLimits& l) {
  auto set = [](int resource, uint64_t value) {
    if (value == 0) return;
    struct rlimit r = {static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
    ::setrlimit(resource, &r);
  };
  set(RLIMIT_NOFILE, l.open_files);
  set(RLIMIT_FSIZE, l.file_size_mib << 20);
}

// Enters `p`; when report >= 0, writes the index of each mount point that
// stayed writable (and the failed step, negative, then errno) to it. Writes
// no memory but its own stack: the launcher's child runs it in the
// launcher's memory (children.h, SpawnChild).
bool Enter(const Plan& p, int report) {
  assert(p.writable.size() <= kMaxWritable);
  int fds[kMaxWritable];
  auto fail = [report](int step) {
    int e = errno;
    Report(report, step, e);
    errno = e;
    return false;
  };
  if (::unshare(CLONE_NEWNS) != 0) return fail(kUnshare);
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return fail(kPrivate);
  MountPrivate(p, fds, report);
  if (!BindWritable(p, fds)) return fail(kBind);
  for (size_t i = 0; i < p.readonly.size(); ++i) {
    unsigned long f = MS_REMOUNT | MS_BIND | MS_RDONLY | p.flags[i];
    if (::mount(nullptr, p.readonly[i].c_str(), nullptr, f, nullptr) != 0) {
      Report(report, static_cast<int>(i), errno);
    }
  }
  ApplyLimits(p.limits);
  return true;
}

std::string StepName(int step) {
  switch (step) {
    case kUnshare:
      return "unshare(CLONE_NEWNS)";
    case kPrivate:
      return "making / private";
    case kBind:
      return "binding a writable directory";
    default:
      return "?";
  }
}

}  // namespace

namespace {

// What the probe child reported: mount points left writable (by index in
// the plan's readonly list), private directories refused (bits), and a
// fatal step (why non-empty).
struct ProbeResult {
  std::vector<bool> left;
  unsigned private_refused = 0;
  std::string why;
};

ProbeResult Probe(Plan p) {
  ProbeResult r;
  r.left.assign(p.readonly.size(), false);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    r.why = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  pid_t pid = ForkChild();
  if (pid < 0) {
    r.why = std::string("fork: ") + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return r;
  }
  if (pid == 0) ::_exit(Enter(p, fds[1]) ? 0 : 1);
  ::close(fds[1]);
  int status = 0;
  WaitChild(pid, &status, 0);
  int msg[2];
  while (::read(fds[0], msg, sizeof msg) == static_cast<ssize_t>(sizeof msg)) {
    if (msg[0] <= kPrivateStep) {
      r.private_refused |= 1u << (kPrivateStep - msg[0]);
    } else if (msg[0] < 0) {
      r.why = StepName(msg[0]) + ": " + std::strerror(msg[1]);
    } else if (static_cast<size_t>(msg[0]) < r.left.size()) {
      r.left[msg[0]] = true;
    }
  }
  ::close(fds[0]);
  if (r.why.empty() && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) r.why = "the probe failed";
  return r;
}

}  // namespace

namespace {

bool ProbeNetwork() {
  pid_t pid = ForkChild();
  if (pid == 0) ::_exit(LeaveNetwork() ? 0 : 1);
  int status = 0;
  return pid > 0 && WaitChild(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

}  // namespace

bool ConfigureSandbox(const std::vector<std::string>& writable, const CommandLimits& limits,
                      std::string* why, std::vector<std::string>* notes) {
  if (writable.size() > kMaxWritable) {
    *why = std::to_string(writable.size()) + " writable directories (at most " +
           std::to_string(kMaxWritable) + ")";
    return false;
  }
  unsigned use_private = (1u << kPrivateCount) - 1;
  Plan p = PlanFor(writable, limits, use_private);
  ProbeResult r = Probe(p);
  if (r.why.empty() && r.private_refused != 0) {
    for (int i = 0; i < kPrivateCount; ++i) {
      if (r.private_refused & (1u << i))
        notes->push_back(std::string(kPrivateDirs[i]) + " is not private");
    }
    p = PlanFor(writable, limits, use_private & ~r.private_refused);
    r = Probe(p);
  }
  if (!r.why.empty()) {
    *why = r.why;
    return false;
  }
  Plan kept = p;
  kept.readonly.clear();
  kept.flags.clear();
  for (size_t i = 0; i < p.readonly.size(); ++i) {
    if (r.left[i]) {
      notes->push_back(p.readonly[i] + " stays writable");
      continue;
    }
    kept.readonly.push_back(p.readonly[i]);
    kept.flags.push_back(p.flags[i]);
  }
  kept.own_network = ProbeNetwork();
  if (!kept.own_network)
    notes->push_back("commands keep the machine's network (unshare(CLONE_NEWNET) refused)");
  kept.active = true;
  g_plan = std::move(kept);
  return true;
}

void DisableSandbox() { g_plan = Plan{}; }

bool SandboxActive() { return g_plan.active; }

bool EnterSandbox(bool network) {
  if (!g_plan.active) return true;
  if (!network && g_plan.own_network) LeaveNetwork();
  return Enter(g_plan, -1);
}

std::string SandboxSpec() {
  const Plan& p = g_plan;
  if (!p.active) return "";
  std::string out;
  for (uint64_t n : {p.limits.processes, p.limits.open_files, p.limits.file_size_mib,
                     p.limits.scratch_mib, uint64_t{p.private_ok[0]}, uint64_t{p.private_ok[1]},
                     uint64_t{p.own_network}}) {
    fields::Put(&out, std::to_string(n));
  }
  fields::Put(&out, p.tmpfs_options);
  fields::PutList(&out, p.writable);
  fields::PutList(&out, p.readonly);
  std::vector<std::string> flags;
  for (unsigned long f : p.flags) flags.push_back(std::to_string(f));
  fields::PutList(&out, flags);
  for (const auto& dirs : p.make_first) fields::PutList(&out, dirs);
  return out;
}

bool AdoptSandbox(const std::string& spec) {
  Plan p;
  size_t at = 0;
  uint64_t n[7] = {};
  for (uint64_t& v : n) {
    if (!fields::TakeNumber(spec, &at, &v)) return false;
  }
  p.limits = {n[0], n[1], n[2], n[3]};
  p.private_ok[0] = n[4] != 0;
  p.private_ok[1] = n[5] != 0;
  p.own_network = n[6] != 0;
  std::vector<std::string> flags;
  if (!fields::Take(spec, &at, &p.tmpfs_options) || !fields::TakeList(spec, &at, &p.writable) ||
      !fields::TakeList(spec, &at, &p.readonly) || !fields::TakeList(spec, &at, &flags) ||
      flags.size() != p.readonly.size() || p.writable.size() > kMaxWritable) {
    return false;
  }
  for (const std::string& f : flags) {
    uint64_t v = 0;
    if (!fields::ParseNumber(f, &v)) return false;
    p.flags.push_back(static_cast<unsigned long>(v));
  }
  p.make_first.resize(p.writable.size());
  for (auto& dirs : p.make_first) {
    if (!fields::TakeList(spec, &at, &dirs)) return false;
  }
  if (at != spec.size()) return false;
  p.active = true;
  g_plan = std::move(p);
  return true;
}

const CommandLimits& SandboxLimits() { return g_plan.limits; }

bool SandboxHasPrivateTmp() { return g_plan.active && g_plan.private_ok[0]; }

bool SandboxHasOwnNetwork() { return g_plan.active && g_plan.own_network; }

std::string DescribeLimits(const CommandLimits& l) {
  std::string set;
  auto one = [&set](uint64_t v, const char* what) {
    if (v != 0) set += (set.empty() ? "" : ", ") + std::to_string(v) + " " + what;
  };
  one(l.processes, "processes");
  one(l.open_files, "open files");
  one(l.file_size_mib, "MiB per file");
  return set.empty() ? "no limit per command" : "per command at most " + set;
}

namespace {

bool g_in_run_namespace = false;
int g_outer_pid = 0;  // the waiting process, in the machine's numbering
volatile pid_t g_namespace_first = -1;

void Forward(int sig) {
  if (g_namespace_first > 0) ::kill(g_namespace_first, sig);
}

// The first process of a PID namespace ignores a signal it has no handler
// for: until the harness installs its own, these end it as they would any.
void EndOnSignal(int sig) { ::_exit(128 + sig); }

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

[[noreturn]] void WaitForFirst(pid_t first) {
  g_namespace_first = first;
  struct sigaction sa = {};
  sa.sa_handler = Forward;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int s : kForwarded) ::sigaction(s, &sa, nullptr);
  int status = 0;
  while (::waitpid(first, &status, 0) < 0 && errno == EINTR) {
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

// In the namespace's first process: dies with the waiting one, and mounts
// /proc for the namespace (pids in /proc must be the ones kill() takes).
bool BecomeFirst(int parent_alive) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  struct pollfd alive = {parent_alive, POLLIN, 0};
  if (::poll(&alive, 1, 0) > 0) ::_exit(128 + SIGKILL);  // the waiting process is gone
  ::close(parent_alive);
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    return false;
  struct sigaction sa = {};
  sa.sa_handler = EndOnSignal;
  sigemptyset(&sa.sa_mask);
  for (int s : kForwarded) ::sigaction(s, &sa, nullptr);
  g_in_run_namespace = true;
  return true;
}

// Without root: a user namespace first, in which this process keeps its
// uid and gid (files it makes are the user's) and holds the capabilities
// the other namespaces, mounts and the sandbox need. Commands lose them at
// execve, as any program of an ordinary user. False if refused.
bool BecomeOwnUser(uid_t uid, gid_t gid) {
  if (::unshare(CLONE_NEWUSER) != 0) return false;
  auto write_file = [](const char* path, const std::string& text) {
    int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok;
  };
  return write_file("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1") &&
         write_file("/proc/self/setgroups", "deny") &&
         write_file("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1");
}

}  // namespace

bool EnterRunNamespace() {
  // An ordinary user's run has no way back from its user namespace, so it
  // asks for it only when the rest can follow (a probe child tries first).
  if (::geteuid() != 0) {
    pid_t probe = ::fork();
    if (probe == 0) {
      ::_exit(BecomeOwnUser(::geteuid(), ::getegid()) && ::unshare(CLONE_NEWPID | CLONE_NEWNS) == 0
                  ? 0
                  : 1);
    }
    int status = 1;
    if (probe < 0 || ::waitpid(probe, &status, 0) != probe || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0 || !BecomeOwnUser(::geteuid(), ::getegid())) {
      errno = EPERM;
      return false;
    }
  }
  int old_pid = ::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  int old_mnt = ::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  int alive[2] = {-1, -1}, ready[2] = {-1, -1};
  bool ok = old_pid >= 0 && old_mnt >= 0 && ::pipe2(alive, O_CLOEXEC) == 0 &&
            ::pipe2(ready, O_CLOEXEC) == 0 && ::unshare(CLONE_NEWPID | CLONE_NEWNS) == 0;
  g_outer_pid = ::getpid();
  pid_t first = ok ? ::fork() : -1;
  if (first == 0) {
    ::close(alive[1]);
    ::close(ready[0]);
    char byte = BecomeFirst(alive[0]) ? 1 : 0;
    (void)!::write(ready[1], &byte, 1);
    ::close(ready[1]);
    if (byte == 0) ::_exit(0);
    ::close(old_pid);
    ::close(old_mnt);
    return true;
  }
  int err = errno;
  char byte = 0;
  if (first > 0) {
    ::close(ready[1]);
    ready[1] = -1;
    if (::read(ready[0], &byte, 1) == 1 && byte == 1) WaitForFirst(first);
    ::waitpid(first, nullptr, 0);
    err = EPERM;
  }
  // Back to where this process was: later children must not land in a
  // namespace whose first process is gone.
  if (ok) {
    (void)!::setns(old_pid, CLONE_NEWPID);
    (void)!::setns(old_mnt, CLONE_NEWNS);
  }
  for (int fd : {old_pid, old_mnt, alive[0], alive[1], ready[0], ready[1]}) {
    if (fd >= 0) ::close(fd);
  }
  errno = err;
  return false;
}

bool InRunNamespace() { return g_in_run_namespace; }

int RunPid() { return g_in_run_namespace ? g_outer_pid : ::getpid(); }

bool MountScratch(const std::string& dir, uint64_t mib) {
  if (!g_in_run_namespace) {
    errno = EPERM;
    return false;
  }
  std::string options =
      "size=" + std::to_string(mib) + "m,mode=0711";  // as the run directory (run_dir.cc)
  return ::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0;
}

}  // namespace aftershock
