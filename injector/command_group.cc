#include "injector/command_group.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "common/file_io.h"

namespace aftershock {
namespace {

struct Hierarchies {
  std::string v2;    // this process's v2 group, where ours can be made ("" if not)
  std::string pids;  // where a group with pids.max can be made ("" if not)
  std::string tag;   // names this process's groups apart from another run's
};

bool HasToken(const std::string& list, const std::string& token, char sep) {
  std::stringstream in(list);
  std::string t;
  while (std::getline(in, t, sep)) {
    if (t == token) return true;
  }
  return false;
}

// The mount points of cgroup2 and of the v1 hierarchy holding pids.
void FindMounts(std::string* v2, std::string* v1_pids) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point, word;
    if (!(f >> id >> parent >> dev >> root >> point)) continue;
    while (f >> word && word != "-") {
    }
    std::string type, source, options;
    f >> type >> source >> options;
    if (type == "cgroup2" && v2->empty()) *v2 = point;
    if (type == "cgroup" && HasToken(options, "pids", ',')) *v1_pids = point;
  }
}

// This process's group paths from /proc/self/cgroup: v2's ("0::") and pids'.
void FindPaths(std::string* v2, std::string* pids) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (line.compare(0, a, "0") == 0 && controllers.empty()) *v2 = path;
    if (HasToken(controllers, "pids", ',')) *pids = path;
  }
}

// True iff a group can be made under `base` and has `file`.
bool CanMake(const std::string& base, const std::string& tag, const char* file) {
  std::string probe = base + "/aftershock-" + tag + "-probe";
  if (::mkdir(probe.c_str(), 0755) != 0 && errno != EEXIST) return false;
  bool ok = ::access((probe + "/" + file).c_str(), W_OK) == 0;
  ::rmdir(probe.c_str());
  return ok;
}

Hierarchies Find() {
  Hierarchies h;
  char tag[16];
  std::snprintf(tag, sizeof tag, "%08x", std::random_device{}());
  h.tag = tag;
  std::string v2_mount, v1_mount, v2_path, pids_path;
  FindMounts(&v2_mount, &v1_mount);
  FindPaths(&v2_path, &pids_path);
  if (!v2_mount.empty() && CanMake(v2_mount + v2_path, h.tag, "cgroup.kill")) {
    h.v2 = v2_mount + (v2_path == "/" ? "" : v2_path);
    if (CanMake(h.v2, h.tag, "pids.max")) h.pids = h.v2;
  }
  if (h.pids.empty() && !v1_mount.empty() && !pids_path.empty()) {
    std::string base = v1_mount + (pids_path == "/" ? "" : pids_path);
    if (CanMake(base, h.tag, "pids.max")) h.pids = base;
  }
  return h;
}

const Hierarchies& Found() {
  static const Hierarchies h = Find();
  return h;
}

std::atomic<uint64_t> g_next{0};

bool WriteFile(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

std::string MakeGroup(const std::string& base, const std::string& name) {
  std::string dir = base + "/" + name;
  return ::mkdir(dir.c_str(), 0755) == 0 ? dir : "";
}

void Sleep1ms() { ::usleep(1000); }

}  // namespace

bool CommandGroup::CanKillAll() { return !Found().v2.empty(); }

bool CommandGroup::CanLimitProcesses() { return !Found().pids.empty(); }

CommandGroup::CommandGroup(uint64_t max_processes) {
  const Hierarchies& h = Found();
  std::string name = "aftershock-" + h.tag + "-" + std::to_string(g_next.fetch_add(1));
  if (!h.v2.empty()) kill_dir_ = MakeGroup(h.v2, name);
  if (max_processes != 0 && !h.pids.empty()) {
    pids_dir_ = h.pids == h.v2 ? kill_dir_ : MakeGroup(h.pids, name);
    if (!pids_dir_.empty()) WriteFile(pids_dir_ + "/pids.max", std::to_string(max_processes));
  }
  if (!kill_dir_.empty())
    kill_procs_ = ::open((kill_dir_ + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  if (!pids_dir_.empty() && pids_dir_ != kill_dir_) {
    pids_procs_ = ::open((pids_dir_ + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  }
}

void CommandGroup::JoinFromChild() const {
  for (int fd : {kill_procs_, pids_procs_}) {
    if (fd >= 0) (void)!::write(fd, "0", 1);
  }
}

bool CommandGroup::Join(pid_t pid) const {
  std::string word = std::to_string(pid);
  bool ok = true;
  for (int fd : {kill_procs_, pids_procs_}) {
    if (fd >= 0) ok &= ::write(fd, word.data(), word.size()) == static_cast<ssize_t>(word.size());
  }
  return ok;
}

void CommandGroup::AfterFork() {
  for (int* fd : {&kill_procs_, &pids_procs_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void CommandGroup::KillAll() {
  if (!kill_dir_.empty()) {
    WriteFile(kill_dir_ + "/cgroup.kill", "1");
    for (int i = 0; i < 1000; ++i) {
      if (ReadFileBytes(kill_dir_ + "/cgroup.events").find("populated 0") != std::string::npos)
        break;
      Sleep1ms();
    }
    return;
  }
  if (pids_dir_.empty()) return;
  // v1 has no kill file: kill what it lists until it lists nothing (the
  // limit bounds how many new ones can appear meanwhile).
  for (int round = 0; round < 1000; ++round) {
    std::istringstream procs(ReadFileBytes(pids_dir_ + "/cgroup.procs"));
    int pid = 0, seen = 0;
    while (procs >> pid) {
      ::kill(pid, SIGKILL);
      ++seen;
    }
    if (seen == 0) break;
    Sleep1ms();
  }
}

bool CommandGroup::HitLimit() const {
  if (pids_dir_.empty()) return false;
  std::istringstream events(ReadFileBytes(pids_dir_ + "/pids.events"));
  std::string key;
  uint64_t n = 0;
  while (events >> key >> n) {
    if (key == "max" && n > 0) return true;
  }
  return false;
}

CommandGroup::~CommandGroup() {
  KillAll();
  for (int fd : {kill_procs_, pids_procs_}) {
    if (fd >= 0) ::close(fd);
  }
  // An exiting process may hold the group a moment after it was killed.
  auto remove = [](const std::string& dir) {
    for (int i = 0; i < 100 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) Sleep1ms();
  };
  if (!pids_dir_.empty() && pids_dir_ != kill_dir_) remove(pids_dir_);
  if (!kill_dir_.empty()) remove(kill_dir_);
}

}  // namespace aftershock
