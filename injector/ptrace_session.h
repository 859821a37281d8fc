// Inside the ptrace recorder (ptrace_recorder.h): what one recording knows
// (its trace, sequence page, fault plan) and what it knows about each
// traced thread. Ordinary C++ in the tracer's own process, which is not
// traced itself.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "injector/faults.h"
#include "injector/shared_page.h"
#include "model/trace_format.h"

namespace aftershock::inject {

// One record being built: the header and its variable parts.
struct PtraceEvent {
  trace::RecordHeader h{};
  std::string path, path2, data;
};

// A call stopped at its seccomp stop whose record is finished at its exit.
struct PendingCall {
  bool active = false;
  long nr = 0;
  long a[6] = {};
  PtraceEvent ev;
  FaultDecision d;
  bool positional = false;           // a write at an offset the call names
  bool append = false;               // a write to an O_APPEND file
  bool vector = false;               // writev, pwritev(2)
  int out_fd = -1;                   // a copy's destination (copy_file_range, sendfile, splice)
  long copy_offset = -1;             // where a copy lands, when the call names it
  std::vector<PtraceEvent> closing;  // close_range: a kClose per recorded fd it closes
};

struct Tracee {
  pid_t tid = 0;
  pid_t tgid = 0;
  bool seen_first_stop = false;  // a new task starts with a SIGSTOP of its own
  bool fork_recorded = true;     // false until its parent's fork event wrote the kFork record
  PendingCall call;
};

// A module of a process, for call sites (module path, load bias).
struct MappedModule {
  uint64_t start = 0, end = 0, bias = 0;
  std::string path;
};

// The module of `mods` (one process's executable mappings) holding addr,
// or null.
inline const MappedModule* MappedAt(const std::vector<MappedModule>& mods, uint64_t addr) {
  for (const MappedModule& m : mods) {
    if (addr >= m.start && addr < m.end) return &m;
  }
  return nullptr;
}

// The function symbols of one executable (ptrace_stack.cc).
struct FunctionTable {
  struct Function {
    uint64_t start, end;
    std::string name;
  };
  bool loaded = false;
  bool go = false;                  // a Go program (it has runtime.main)
  std::vector<Function> functions;  // sorted by start
  void Load(const std::string& path);
  const std::string* NameAt(uint64_t addr) const;
  // The start of the function holding addr, or 0 when none does.
  uint64_t StartOf(uint64_t addr) const;
};

class PtraceSession {
 public:
  // Reads $AFTERSHOCK_TRACE, _ROOT, _ALLOW, _FAULTS, _FAULTS_FILE. False
  // with *error when the trace or the rules cannot be used.
  bool Open(std::string* error);

  // Why the fault rules were not used (they did not parse); empty if they were.
  const std::string& fault_error() const { return fault_error_; }

  int trace_fd() const { return trace_fd_; }
  uint64_t NextSeq();
  // Fills pid/tid (from t), seq (when 0) and the call site and its callers
  // (from regs when given), seals and appends the record.
  void Emit(PtraceEvent* ev, const Tracee& t, const user_regs_struct* regs);
  void EmitGap(const Tracee& t, const std::string& what, const std::string& path, uint32_t scope,
               const user_regs_struct* regs);

  // Pause and count rules, before the call takes its seq (may block until
  // the harness resumes the paused call).
  void BeforeSeq(const char* point, pid_t pid);
  FaultDecision Decide(uint64_t seq, const char* point, const char* reduce_point);

  bool IsEscape(const std::string& path) const;
  bool IsRecorderPath(const std::string& path) const;
  bool HasRoot() const { return !root_.empty(); }
  bool IsUnderRoot(const std::string& path) const;
  // A process's executable image changed: its module map is stale.
  void ForgetModules(pid_t tgid) {
    modules_.erase(tgid);
    code_.erase(code_.lower_bound({tgid, 0}), code_.lower_bound({tgid + 1, 0}));
  }

 private:
  bool Fires(int i, const char* point);
  void PauseFor(pid_t pid);
  // Maps the trace's header, whose tail each record's bytes are reserved from.
  bool MapTraceHeader(std::string* error);
  // The module holding addr; with `refresh`, the map is read again on a miss.
  std::optional<MappedModule> ModuleOf(pid_t tgid, uint64_t addr, bool refresh);
  // The call and its callers along the saved frame pointers, or, in code
  // without them, by a scan of the stack (ptrace_stack.cc); *method says
  // which (trace::kStack*).
  std::vector<uint64_t> Frames(const Tracee& t, const user_regs_struct& regs, uint8_t* method);
  void ScanStack(const Tracee& t, uint64_t from, std::vector<uint64_t>* frames);
  const unsigned char* CodeBefore(const Tracee& t, const MappedModule& m, uint64_t ret);
  FunctionTable& FunctionsOf(const std::string& path);
  size_t SiteFrame(const std::vector<uint64_t>& frames, const MappedModule& exe);
  uint32_t StackPart(const Tracee& t, const std::vector<uint64_t>& frames, size_t first,
                     const MappedModule& site, uint8_t method, char* buf, size_t cap);

  int trace_fd_ = -1;
  trace::FileHeader* header_ = nullptr;  // the trace's header, mapped: its tail
  SharedPage* page_ = nullptr;
  std::string trace_path_, seq_path_, root_;
  std::vector<std::string> allow_;
  FaultPlan plan_;
  std::string fault_error_;
  std::map<pid_t, std::vector<MappedModule>> modules_;
  std::map<std::string, FunctionTable> functions_;
  // Copies of executable mappings' code, by (process, mapping start):
  // CodeBefore.
  std::map<std::pair<pid_t, uint64_t>, std::vector<unsigned char>> code_;
};

// The calls (ptrace_calls.cc). At the seccomp stop: returns true iff the
// call is to be resumed to its exit stop (t.call holds what to finish);
// false when it was handled (passed, refused or injected) or the process
// was killed (*killed).
bool EnterCall(PtraceSession& s, Tracee& t, user_regs_struct& regs, bool* killed);
// At the exit stop of a call EnterCall kept: finishes and emits its record.
// Returns false iff the process was killed after the call.
bool ExitCall(PtraceSession& s, Tracee& t, const user_regs_struct& regs);

// The system calls the seccomp filter stops at.
extern const int kPtraceCalls[];
extern const size_t kPtraceCallCount;

}  // namespace aftershock::inject
