#include "injector/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

namespace aftershock {
namespace {

struct Plan {
  bool active = false;
  std::vector<std::string> writable;
  std::vector<std::string> readonly;  // mount points, parents first
  std::vector<unsigned long> flags;   // per mount point: its flags kept on the remount
};

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

Plan PlanFor(const std::vector<std::string>& writable) {
  Plan p;
  p.writable = writable;
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
    if (inside) continue;
    p.readonly.push_back(mount_point);
    p.flags.push_back(FlagsOf(mount_point));
  }
  return p;
}

// Steps of EnterSandbox, for the probe's report.
enum Step : int { kUnshare = -1, kPrivate = -2, kBind = -3 };

// Enters `p`; when report >= 0, writes the index of each mount point that
// stayed writable (and the failed step, negative, then errno) to it.
bool Enter(const Plan& p, int report) {
  auto fail = [report](int step) {
    int e = errno;
    if (report >= 0) {
      int msg[2] = {step, e};
      (void)!::write(report, msg, sizeof msg);
    }
    errno = e;
    return false;
  };
  if (::unshare(CLONE_NEWNS) != 0) return fail(kUnshare);
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return fail(kPrivate);
  for (const std::string& w : p.writable) {
    if (::mount(w.c_str(), w.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) return fail(kBind);
  }
  for (size_t i = 0; i < p.readonly.size(); ++i) {
    unsigned long f = MS_REMOUNT | MS_BIND | MS_RDONLY | p.flags[i];
    if (::mount(nullptr, p.readonly[i].c_str(), nullptr, f, nullptr) != 0 && report >= 0) {
      int msg[2] = {static_cast<int>(i), errno};
      (void)!::write(report, msg, sizeof msg);
    }
  }
  return true;
}

std::string StepName(int step) {
  switch (step) {
    case kUnshare: return "unshare(CLONE_NEWNS)";
    case kPrivate: return "making / private";
    case kBind: return "binding a writable directory";
    default: return "?";
  }
}

}  // namespace

bool ConfigureSandbox(const std::vector<std::string>& writable, std::string* why,
                      std::vector<std::string>* notes) {
  Plan p = PlanFor(writable);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    *why = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    *why = std::string("fork: ") + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return false;
  }
  if (pid == 0) ::_exit(Enter(p, fds[1]) ? 0 : 1);
  ::close(fds[1]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::vector<bool> left(p.readonly.size(), false);
  int msg[2];
  bool failed = false;
  while (::read(fds[0], msg, sizeof msg) == static_cast<ssize_t>(sizeof msg)) {
    if (msg[0] < 0) {
      *why = StepName(msg[0]) + ": " + std::strerror(msg[1]);
      failed = true;
    } else if (static_cast<size_t>(msg[0]) < left.size()) {
      left[msg[0]] = true;
      notes->push_back(p.readonly[msg[0]] + " stays writable: " + std::strerror(msg[1]));
    }
  }
  ::close(fds[0]);
  if (failed || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (why->empty()) *why = "the probe failed";
    return false;
  }
  Plan kept;
  kept.writable = p.writable;
  for (size_t i = 0; i < p.readonly.size(); ++i) {
    if (left[i]) continue;
    kept.readonly.push_back(p.readonly[i]);
    kept.flags.push_back(p.flags[i]);
  }
  kept.active = true;
  g_plan = std::move(kept);
  return true;
}

void DisableSandbox() { g_plan = Plan{}; }

bool SandboxActive() { return g_plan.active; }

bool EnterSandbox() { return !g_plan.active || Enter(g_plan, -1); }

}  // namespace aftershock
