#include "tests/injector/test_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace aftershock::testing {
namespace {

std::string Relative(const std::string& root, std::string p) {
  // An O_TMPFILE file shows as "<dir>/#123 (deleted)" in /proc: its dir.
  static const std::regex kTmp(R"(/#[0-9]+( \(deleted\))?$)");
  p = std::regex_replace(p, kTmp, "");
  static const std::regex kStemp(R"(stemp-[A-Za-z0-9]{6})");
  p = std::regex_replace(p, kStemp, "stemp-*");
  if (p == root) return ".";
  if (p.compare(0, root.size() + 1, root + "/") == 0) return p.substr(root.size() + 1);
  return p;
}

bool Inside(const std::string& root, const std::string& p) {
  return p == root || p.compare(0, root.size() + 1, root + "/") == 0;
}

std::string Normalise(const std::string& p) {
  std::string n = std::filesystem::path(p).lexically_normal().string();
  while (n.size() > 1 && n.back() == '/') n.pop_back();
  return n;
}

// Splits strace's argument list at top-level commas.
std::vector<std::string> SplitArgs(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      cur += c;
      if (c == '\\' && i + 1 < s.size()) {
        cur += s[++i];
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (c == '"') quoted = true;
    if (c == '[' || c == '{' || c == '(' || c == '<') ++depth;
    if (c == ']' || c == '}' || c == ')' || c == '>') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
      if (i + 1 < s.size() && s[i + 1] == ' ') ++i;
      continue;
    }
    cur += c;
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// "3</a/b>" -> "/a/b"; "AT_FDCWD</a>" -> "/a".
std::string FdPath(const std::string& arg) {
  size_t lt = arg.find('<');
  size_t gt = arg.rfind('>');
  if (lt == std::string::npos || gt == std::string::npos || gt < lt) return "";
  return arg.substr(lt + 1, gt - lt - 1);
}

std::string Unquote(const std::string& arg) {
  if (arg.size() < 2 || arg[0] != '"') return "";
  std::string s = arg.substr(1, arg.rfind('"') - 1);
  return s;
}

std::string PathArg(const std::string& cwd, const std::string& dirfd_arg, const std::string& arg) {
  std::string p = Unquote(arg);
  if (!p.empty() && p[0] == '/') return Normalise(p);
  std::string base = dirfd_arg.empty() ? cwd : FdPath(dirfd_arg);
  if (base.empty()) base = cwd;
  return Normalise(base + "/" + p);
}

void Add(Mutations* out, const std::string& root, const std::string& kind, const std::string& p1,
         const std::string& p2, long bytes, bool fail, bool escapes_too) {
  // A link whose source is an fd (AT_EMPTY_PATH) names no source path.
  const std::string& where = p1 == "<fd>" ? p2 : p1;
  if (!Inside(root, where) && !(escapes_too && !where.empty())) return;
  std::string s = kind + " " + (p1 == "<fd>" ? p1 : Relative(root, p1));
  if (!p2.empty()) s += " " + Relative(root, p2);
  if (bytes >= 0) s += " " + std::to_string(bytes);
  if (fail) s += " fail";
  out->push_back(s);
}

bool WriteFlags(const std::string& flags) {
  return flags.find("O_WRONLY") != std::string::npos || flags.find("O_RDWR") != std::string::npos ||
         flags.find("O_CREAT") != std::string::npos || flags.find("O_TRUNC") != std::string::npos ||
         flags.find("O_TMPFILE") != std::string::npos;
}

bool IsDevice(const std::string& p) {
  return p.rfind("/dev/", 0) == 0 && p.rfind("/dev/shm/", 0) != 0;
}

void ParseStraceLine(const std::string& line, const std::string& root, Mutations* out,
                     bool escapes_too) {
  static const std::regex kCall(R"(^(\w+)\((.*)\)\s+= (.*)$)");
  std::smatch m;
  if (!std::regex_match(line, m, kCall)) return;
  std::string name = m[1];
  std::vector<std::string> a = SplitArgs(m[2]);
  std::string result = m[3];
  bool fail = !result.empty() && result[0] == '-';
  long res = std::atol(result.c_str());
  const std::string& cwd = root;
  auto arg = [&](size_t i) { return i < a.size() ? a[i] : std::string(); };
  if (name == "open" || name == "creat") {
    if (name == "open" && !WriteFlags(arg(1))) return;
    if (!fail && IsDevice(FdPath(result))) return;
    Add(out, root, "open", PathArg(cwd, "", arg(0)), "", -1, fail, escapes_too);
  } else if (name == "openat") {
    if (!WriteFlags(arg(2))) return;
    if (!fail && IsDevice(FdPath(result))) return;
    Add(out, root, "open", PathArg(cwd, arg(0), arg(1)), "", -1, fail, escapes_too);
  } else if (name == "write" || name == "pwrite64" || name == "writev" || name == "pwritev" ||
             name == "pwritev2") {
    Add(out, root, "write", FdPath(arg(0)), "", fail ? -1 : res, fail, escapes_too);
  } else if (name == "copy_file_range" || name == "splice") {
    // In-kernel copies are recorded as writes of the bytes that landed.
    if (!fail) Add(out, root, "write", FdPath(arg(2)), "", res, false, escapes_too);
  } else if (name == "sendfile") {
    if (!fail) Add(out, root, "write", FdPath(arg(0)), "", res, false, escapes_too);
  } else if (name == "rename") {
    Add(out, root, "rename", PathArg(cwd, "", arg(0)), PathArg(cwd, "", arg(1)), -1, fail,
        escapes_too);
  } else if (name == "renameat" || name == "renameat2") {
    Add(out, root, "rename", PathArg(cwd, arg(0), arg(1)), PathArg(cwd, arg(2), arg(3)), -1, fail,
        escapes_too);
  } else if (name == "link") {
    Add(out, root, "link", PathArg(cwd, "", arg(0)), PathArg(cwd, "", arg(1)), -1, fail,
        escapes_too);
  } else if (name == "linkat") {
    std::string src = Unquote(arg(1)).empty() ? "<fd>" : PathArg(cwd, arg(0), arg(1));
    Add(out, root, "link", src, PathArg(cwd, arg(2), arg(3)), -1, fail, escapes_too);
  } else if (name == "unlink" || name == "rmdir") {
    Add(out, root, name, PathArg(cwd, "", arg(0)), "", -1, fail, escapes_too);
  } else if (name == "unlinkat") {
    bool dir = arg(2).find("AT_REMOVEDIR") != std::string::npos;
    Add(out, root, dir ? "rmdir" : "unlink", PathArg(cwd, arg(0), arg(1)), "", -1, fail,
        escapes_too);
  } else if (name == "mkdir") {
    Add(out, root, "mkdir", PathArg(cwd, "", arg(0)), "", -1, fail, escapes_too);
  } else if (name == "mkdirat") {
    Add(out, root, "mkdir", PathArg(cwd, arg(0), arg(1)), "", -1, fail, escapes_too);
  } else if (name == "symlink") {
    Add(out, root, "symlink", PathArg(cwd, "", arg(1)), "", -1, fail, escapes_too);
  } else if (name == "symlinkat") {
    Add(out, root, "symlink", PathArg(cwd, arg(1), arg(2)), "", -1, fail, escapes_too);
  } else if (name == "fsync" || name == "fdatasync" || name == "fchmod" || name == "ftruncate" ||
             name == "fallocate") {
    std::string kind = name == "fchmod" ? "chmod" : name == "ftruncate" ? "truncate" : name;
    Add(out, root, kind, FdPath(arg(0)), "", -1, fail, escapes_too);
  } else if (name == "chmod" || name == "truncate") {
    Add(out, root, name, PathArg(cwd, "", arg(0)), "", -1, fail, escapes_too);
  } else if (name == "fchmodat") {
    Add(out, root, "chmod", PathArg(cwd, arg(0), arg(1)), "", -1, fail, escapes_too);
  }
}

}  // namespace

ScratchDir::ScratchDir() {
  const char* base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : std::getenv("TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/aftershock-injtest-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* p = ::mkdtemp(buf.data());
  path_ = p ? p : "";
}

ScratchDir::~ScratchDir() {
  if (!path_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

std::string Prog(const std::string& name) {
  const char* dir = std::getenv("AFTERSHOCK_TEST_PROGS");
  std::string path = std::string(dir ? dir : ".") + "/" + name;
  const char* static_builds = std::getenv("AFTERSHOCK_TEST_STATIC");
  if (static_builds != nullptr && std::string(static_builds) == "1" &&
      ::access((path + "_static").c_str(), X_OK) == 0) {
    return path + "_static";
  }
  return path;
}

RecordedRun RecordIn(const ScratchDir& scratch, const std::vector<std::string>& argv,
                     const std::string& faults, const std::string& stdin_data) {
  RecordedRun run;
  run.root = scratch.path() + "/root";
  ::mkdir(run.root.c_str(), 0755);
  run.trace_path = scratch.path() + "/trace";
  std::string error;
  auto before = SnapshotRoot(run.root, &error);
  LaunchRequest o;
  if (argv.size() == 1 && argv[0].rfind("sh:", 0) == 0) {
    o.command = argv[0].substr(3);
  } else {
    o.argv = argv;
  }
  o.cwd = run.root;
  o.root = run.root;
  o.trace_path = run.trace_path;
  o.faults = faults;
  o.has_stdin = !stdin_data.empty();
  o.stdin_data = stdin_data;
  o.timeout_ms = 30000;
  run.result = Launch(o);
  TraceError terr;
  if (auto t = ReadTrace(run.trace_path, &terr)) {
    run.trace = std::move(*t);
    run.trace_ok = true;
  } else {
    run.trace_error = terr.message;
  }
  if (before && run.trace_ok) {
    run.fidelity = CheckFidelity(*before, run.trace);
  } else {
    run.fidelity.gap = "no snapshot or trace: " + error + run.trace_error;
  }
  return run;
}

Mutations FromTrace(const Trace& trace, const std::string& root, bool escapes_too) {
  std::map<int, Mutations> per_pid;
  std::vector<int> order;
  for (const Op& op : trace.ops) {
    using K = OpKind;
    std::string kind;
    switch (op.kind) {
      case K::kOpen:
        // Read-only opens (recorded inside the root for the model) are not
        // mutations; the strace side drops them too.
        if ((op.oflags & O_ACCMODE) == O_RDONLY && !(op.oflags & (O_CREAT | O_TRUNC))) continue;
        kind = "open";
        break;
      case K::kWrite:
        kind = "write";
        break;
      case K::kRename:
        kind = "rename";
        break;
      case K::kLink:
        kind = "link";
        break;
      case K::kUnlink:
        kind = "unlink";
        break;
      case K::kRmdir:
        kind = "rmdir";
        break;
      case K::kMkdir:
        kind = "mkdir";
        break;
      case K::kSymlink:
        kind = "symlink";
        break;
      case K::kFsync:
        kind = "fsync";
        break;
      case K::kFdatasync:
        kind = "fdatasync";
        break;
      case K::kTruncate:
        kind = "truncate";
        break;
      case K::kChmod:
        kind = "chmod";
        break;
      case K::kFallocate:
        kind = "fallocate";
        break;
      default:
        continue;
    }
    if (!per_pid.count(op.pid)) order.push_back(op.pid);
    long bytes = op.kind == K::kWrite ? (op.Failed() ? -1 : op.result) : -1;
    std::string p2 = (op.kind == K::kRename || op.kind == K::kLink) ? op.path2 : "";
    std::string p1 = op.kind == K::kLink && op.path.empty() ? "<fd>" : op.path;
    Add(&per_pid[op.pid], root, kind, p1, p2, bytes, op.Failed(), escapes_too);
  }
  Mutations out;
  for (int pid : order) out.insert(out.end(), per_pid[pid].begin(), per_pid[pid].end());
  return out;
}

Mutations FromStrace(const ScratchDir& scratch, const std::vector<std::string>& argv, bool* ok,
                     bool escapes_too) {
  std::string root = scratch.path() + "/sroot";
  ::mkdir(root.c_str(), 0755);
  std::string prefix = scratch.path() + "/strace";
  std::string cmd = "cd '" + root + "' && strace -f -ff -qq -y -s 0 -o '" + prefix +
                    "' -e trace=open,openat,creat,write,pwrite64,writev,pwritev,pwritev2,rename,"
                    "renameat,renameat2,link,linkat,unlink,unlinkat,mkdir,mkdirat,rmdir,symlink,"
                    "symlinkat,fsync,fdatasync,ftruncate,truncate,fchmod,chmod,fchmodat,fallocate,"
                    "copy_file_range,sendfile,splice";
  auto quote = [](const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  for (const auto& a : argv) {
    if (argv.size() == 1 && a.rfind("sh:", 0) == 0) {
      cmd += " /bin/sh -c " + quote(a.substr(3));
    } else {
      cmd += " " + quote(a);
    }
  }
  cmd += " >/dev/null 2>&1 </dev/null";
  int rc = std::system(cmd.c_str());
  *ok = rc != -1;
  // strace -ff writes one file per process, named prefix.PID: in pid order.
  std::vector<std::pair<int, std::string>> files;
  for (const auto& e : std::filesystem::directory_iterator(scratch.path())) {
    std::string n = e.path().filename().string();
    if (n.rfind("strace.", 0) == 0) files.emplace_back(std::atoi(n.c_str() + 7), e.path());
  }
  std::sort(files.begin(), files.end());
  Mutations out;
  for (const auto& [pid, file] : files) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) ParseStraceLine(line, root, &out, escapes_too);
  }
  return out;
}

Mutations Sorted(Mutations m) {
  std::sort(m.begin(), m.end());
  return m;
}

}  // namespace aftershock::testing
