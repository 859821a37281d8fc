#define XXH_INLINE_ALL
#include "injector/ptrace_session.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "injector/paths.h"

namespace aftershock::inject {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::string Normalized(const std::string& path) {
  std::string out(kPathCap, '\0');
  size_t n = ResolvePath("/", 1, path.data(), path.size(), out.data(), out.size());
  out.resize(n);
  return out;
}

bool Under(const std::string& path, const std::string& dir) {
  return !dir.empty() && PathIsUnder(path.data(), path.size(), dir.data(), dir.size());
}

bool ReadFaults(FaultPlan* plan, std::string* error) {
  char err[512] = {};
  std::string spec = Env("AFTERSHOCK_FAULTS");
  if (!spec.empty() && !ParseFaultSpec(spec.data(), spec.size(), plan, err, sizeof err)) {
    *error = std::string("AFTERSHOCK_FAULTS: ") + err;
    return false;
  }
  std::string file = Env("AFTERSHOCK_FAULTS_FILE");
  if (file.empty()) return true;
  std::ifstream in(file);
  if (!in) {
    *error = "cannot read AFTERSHOCK_FAULTS_FILE " + file;
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string rules = text.str();
  if (!ParseFaultSpec(rules.data(), rules.size(), plan, err, sizeof err)) {
    *error = file + ": " + err;
    return false;
  }
  return true;
}

// True iff path is an ELF executable linked at fixed addresses (ET_EXEC).
bool IsFixedAddressElf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char head[18] = {};
  return in.read(reinterpret_cast<char*>(head), sizeof head) && head[0] == 0x7f && head[1] == 'E' &&
         head[16] == 2 /* ET_EXEC */ && head[17] == 0;
}

}  // namespace

bool PtraceSession::Open(std::string* error) {
  trace_path_ = Env("AFTERSHOCK_TRACE");
  if (trace_path_.empty()) {
    *error = "AFTERSHOCK_TRACE is not set: no trace to record into";
    return false;
  }
  seq_path_ = trace_path_ + ".seq";
  trace_fd_ = ::open(trace_path_.c_str(), O_RDWR | O_CLOEXEC);
  int sfd = ::open(seq_path_.c_str(), O_RDWR | O_CLOEXEC);
  if (trace_fd_ < 0 || sfd < 0) {
    *error =
        "cannot open the trace " + trace_path_ + " and " + seq_path_ + ": " + std::strerror(errno);
    if (sfd >= 0) ::close(sfd);
    return false;
  }
  void* page = ::mmap(nullptr, kSharedPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
  ::close(sfd);
  if (page == MAP_FAILED || static_cast<SharedPage*>(page)->magic != kSharedPageMagic) {
    *error = "the sequence page " + seq_path_ + " is not one of aftershock's";
    return false;
  }
  page_ = static_cast<SharedPage*>(page);
  if (!MapTraceHeader(error)) return false;
  std::string root = Env("AFTERSHOCK_ROOT");
  if (!root.empty() && root[0] == '/') {
    char real[PATH_MAX];
    root_ = Normalized(::realpath(root.c_str(), real) != nullptr ? real : root);
  }
  std::string allow = Env("AFTERSHOCK_ALLOW");
  for (size_t at = 0; at < allow.size();) {
    size_t colon = std::min(allow.find(':', at), allow.size());
    std::string one = allow.substr(at, colon - at);
    if (!one.empty() && one[0] == '/') allow_.push_back(Normalized(one));
    at = colon + 1;
  }
  // As the preloaded recorder: rules that do not parse are reported and a
  // gap, and the program runs without faults.
  if (!ReadFaults(&plan_, &fault_error_)) plan_.count = 0;
  return true;
}

uint64_t PtraceSession::NextSeq() { return TakeSeq(page_); }

std::optional<MappedModule> PtraceSession::ModuleOf(pid_t tgid, uint64_t addr, bool refresh) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto it = modules_.find(tgid);
    if (it != modules_.end()) {
      if (const MappedModule* m = MappedAt(it->second, addr)) return *m;
      if (attempt == 1 || !refresh) return std::nullopt;
    }
    // Executable mappings of files; the bias is the start of the file's
    // mapping at offset 0 (as modules.cc computes it in the target).
    std::vector<MappedModule> mods;
    std::map<std::string, uint64_t> base;
    std::ifstream maps("/proc/" + std::to_string(tgid) + "/maps");
    std::string line;
    while (std::getline(maps, line)) {
      unsigned long start = 0, end = 0, off = 0, ino = 0;
      char perms[8] = {}, dev[16] = {};
      int used = 0;
      if (std::sscanf(line.c_str(), "%lx-%lx %7s %lx %15s %lu %n", &start, &end, perms, &off, dev,
                      &ino, &used) < 6) {
        continue;
      }
      std::string path = used > 0 ? line.substr(static_cast<size_t>(used)) : "";
      if (path.empty() || path[0] != '/') continue;
      if (off == 0 && !base.count(path)) base[path] = start;
      if (perms[2] != 'x') continue;
      // As the preload's modules.cc: offsets in a non-PIE executable
      // (ET_EXEC) are its run addresses (bias 0).
      uint64_t bias = base.count(path) ? base[path] : start;
      if (IsFixedAddressElf(path)) bias = 0;
      mods.push_back({start, end, bias, path});
    }
    modules_[tgid] = std::move(mods);
  }
  return std::nullopt;
}

void PtraceSession::Emit(PtraceEvent* ev, const Tracee& t, const user_regs_struct* regs) {
  if (ev->h.pid == 0) ev->h.pid = t.tgid;
  if (ev->h.tid == 0) ev->h.tid = t.tid;
  if (ev->h.seq == 0) ev->h.seq = NextSeq();
  std::string module;
  char stack[1024];
  ev->h.stack_len = 0;
  // The module map is read again when the call itself is in no known
  // module (a new image, a library loaded since); never for the callers.
  std::optional<MappedModule> site;
  if (regs != nullptr) site = ModuleOf(t.tgid, regs->rip, true);
  if (site) {
    uint8_t method = trace::kStackFramePointers;
    std::vector<uint64_t> frames = Frames(t, *regs, &method);
    size_t first = SiteFrame(frames, *site);
    site = ModuleOf(t.tgid, frames[first], false);
    module = site->path;
    ev->h.call_addr = frames[first];
    ev->h.call_offset = frames[first] - site->bias;
    ev->h.stack_len = StackPart(t, frames, first, *site, method, stack, sizeof stack);
  }
  ev->h.path_len = static_cast<uint32_t>(ev->path.size());
  ev->h.path2_len = static_cast<uint32_t>(ev->path2.size());
  ev->h.module_len = static_cast<uint32_t>(module.size());
  ev->h.data_len = static_cast<uint32_t>(ev->data.size());
  struct iovec iov[6];
  trace::SealRecord(&ev->h, ev->path.data(), ev->path2.data(), module.data(), ev->data.data(),
                    stack, iov);
  // Its own reserved bytes (trace_format.h), one pwritev: records never
  // interleave with the preloaded recorder's.
  uint64_t at = trace::ReserveRecord(header_, ev->h.size);
  ::pwritev(trace_fd_, iov, 6, static_cast<off_t>(at));
}

bool PtraceSession::MapTraceHeader(std::string* error) {
  trace::FileHeader fh{};
  void* map = ::mmap(nullptr, sizeof fh, PROT_READ | PROT_WRITE, MAP_SHARED, trace_fd_, 0);
  if (::pread(trace_fd_, &fh, sizeof fh, 0) != sizeof fh || !trace::HasTail(fh) ||
      map == MAP_FAILED) {
    *error = "the trace " + trace_path_ + " has no record tail (made by an older aftershock?)";
    return false;
  }
  header_ = static_cast<trace::FileHeader*>(map);
  return true;
}

// The callers of frames[first] as a record's stack part (trace_format.h).
uint32_t PtraceSession::StackPart(const Tracee& t, const std::vector<uint64_t>& frames,
                                  size_t first, const MappedModule& site, uint8_t method, char* buf,
                                  size_t cap) {
  trace::StackFrame out[trace::kMaxCallers];
  trace::StackName names[trace::kMaxCallers];
  std::vector<MappedModule> held;  // keeps the names' bytes
  held.reserve(frames.size());
  int count = 0, name_count = 0;
  for (size_t i = first + 1; i < frames.size() && count < trace::kMaxCallers; ++i) {
    std::optional<MappedModule> found = ModuleOf(t.tgid, frames[i], false);
    if (!found) break;
    held.push_back(*found);
    const MappedModule* m = &held.back();
    uint32_t index = 0;
    if (m->path != site.path) {
      for (int k = 0; k < name_count && index == 0; ++k) {
        if (m->path.size() == names[k].len &&
            m->path.compare(0, names[k].len, static_cast<const char*>(names[k].data),
                            names[k].len) == 0) {
          index = static_cast<uint32_t>(k) + 1;
        }
      }
      if (index == 0) {
        names[name_count] = {m->path.data(), static_cast<uint32_t>(m->path.size())};
        if (trace::StackPartSize(count + 1, names, name_count + 1) > cap) break;
        index = static_cast<uint32_t>(++name_count);
      }
    }
    if (trace::StackPartSize(count + 1, names, name_count) > cap) break;
    out[count++] = {frames[i] - m->bias, index, 0};
  }
  if (count == 0) return 0;
  return trace::WriteStackPart(method, out, count, names, name_count, buf);
}

void PtraceSession::EmitGap(const Tracee& t, const std::string& what, const std::string& path,
                            uint32_t scope, const user_regs_struct* regs) {
  PtraceEvent ev;
  ev.h.kind = static_cast<uint16_t>(trace::OpKind::kGap);
  ev.h.sysno = -1;
  ev.h.fd = ev.h.fd2 = -1;
  ev.h.mode = scope;
  ev.path = path;
  ev.data = what;
  Emit(&ev, t, regs);
}

bool PtraceSession::IsEscape(const std::string& path) const {
  if (root_.empty() || Under(path, root_)) return false;
  for (const std::string& a : allow_) {
    if (Under(path, a)) return false;
  }
  return true;
}

bool PtraceSession::IsRecorderPath(const std::string& path) const {
  return path == trace_path_ || path == seq_path_;
}

bool PtraceSession::IsUnderRoot(const std::string& path) const { return Under(path, root_); }

bool PtraceSession::Fires(int i, const char* point) {
  const FaultRule& r = plan_.rules[i];
  if (r.seq != 0 || IsPreSeqRule(r.action) || !PointMatches(r.point, point)) return false;
  uint64_t hits = __atomic_add_fetch(&page_->rule_hits[i], 1, __ATOMIC_SEQ_CST);
  if (r.nth != 0 && hits != r.nth) return false;
  __atomic_store_n(&page_->rule_fired[i], 1, __ATOMIC_SEQ_CST);
  return true;
}

namespace {

// True iff process pid has ended (a zombie, or gone).
bool Ended(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  size_t close = text.rfind(')');
  return close == std::string::npos || close + 2 >= text.size() || text[close + 2] == 'Z' ||
         text[close + 2] == 'X';
}

}  // namespace

// As the preloaded recorder: seq rules first, then the first rule of the
// point that fires (each matching rule counts the call), then the write's
// "/reduce" point.
FaultDecision PtraceSession::Decide(uint64_t seq, const char* point, const char* reduce_point) {
  FaultDecision d;
  for (int i = 0; i < plan_.count; ++i) {
    const FaultRule& r = plan_.rules[i];
    if (r.seq == seq && !IsPreSeqRule(r.action)) ApplyRule(r, &d);
  }
  bool fired = false;
  for (int i = 0; i < plan_.count; ++i) {
    if (Fires(i, point) && !fired) {
      ApplyRule(plan_.rules[i], &d);
      fired = true;
    }
  }
  if (fired || reduce_point == nullptr) return d;
  for (int i = 0; i < plan_.count; ++i) {
    if (Fires(i, reduce_point) && !fired) {
      d.shorten = true;
      d.bytes = plan_.rules[i].action == FaultAction::kShort ? plan_.rules[i].bytes : ~uint64_t{0};
      fired = true;
    }
  }
  return d;
}

void PtraceSession::BeforeSeq(const char* point, pid_t pid) {
  bool pause = false;
  for (int i = 0; i < plan_.count; ++i) {
    const FaultRule& r = plan_.rules[i];
    if (!IsPreSeqRule(r.action)) continue;
    if (r.seq != 0) {
      if (__atomic_load_n(&page_->next_seq, __ATOMIC_SEQ_CST) != r.seq) continue;
      uint64_t zero = 0;
      pause |= __atomic_compare_exchange_n(&page_->rule_fired[i], &zero, 1, false, __ATOMIC_SEQ_CST,
                                           __ATOMIC_SEQ_CST);
      continue;
    }
    if (!PointMatches(r.point, point)) continue;
    uint64_t hits = __atomic_add_fetch(&page_->rule_hits[i], 1, __ATOMIC_SEQ_CST);
    if (r.action == FaultAction::kPause && (r.nth == 0 || hits == r.nth)) {
      __atomic_store_n(&page_->rule_fired[i], 1, __ATOMIC_SEQ_CST);
      pause = true;
    }
  }
  if (pause) PauseFor(pid);
}

// The pause handshake of shared_page.h, on behalf of the stopped process
// (which stays stopped meanwhile; so does every other process this tracer
// traces). Gives up when the harness is gone or the process was killed.
void PtraceSession::PauseFor(pid_t pid) {
  auto futex = [](uint32_t* word, int op, uint32_t val, const struct timespec* t) {
    return ::syscall(SYS_futex, word, op, val, t, nullptr, 0);
  };
  for (;;) {
    uint32_t expected = 0;
    if (__atomic_compare_exchange_n(&page_->paused_pid, &expected, static_cast<uint32_t>(pid),
                                    false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
      break;
    }
    futex(&page_->paused_pid, FUTEX_WAIT, expected, nullptr);
  }
  uint32_t gen = __atomic_load_n(&page_->resume_gen, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&page_->pauses, 1, __ATOMIC_SEQ_CST);
  futex(&page_->paused_pid, FUTEX_WAKE, 0x7fffffff, nullptr);
  while (__atomic_load_n(&page_->resume_gen, __ATOMIC_SEQ_CST) == gen) {
    struct timespec poll = {0, 100 * 1000 * 1000};
    bool timed_out = futex(&page_->resume_gen, FUTEX_WAIT, gen, &poll) != 0 && errno == ETIMEDOUT;
    if (!timed_out) continue;
    uint32_t controller = __atomic_load_n(&page_->controller_pid, __ATOMIC_SEQ_CST);
    if (controller != 0 && ::kill(static_cast<pid_t>(controller), 0) != 0 && errno == ESRCH) {
      ::kill(pid, SIGKILL);  // nobody will resume it
      return;
    }
    if (Ended(pid)) return;  // killed while paused (a command destroyed, a crash point)
  }
}

}  // namespace aftershock::inject
