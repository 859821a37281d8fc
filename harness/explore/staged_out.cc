#include "harness/explore/staged_out.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace aftershock {
namespace {

namespace fs = std::filesystem;

// What a run writes into --out (harness/runner.cc, reports/atomic_file.cc).
constexpr const char* kOutputEntries[] = {"report.json", "junit.xml",     "summary.md",
                                          "report.html", "results.sarif", "recordings",
                                          "logs"};

bool IsOutputEntry(const std::string& name) {
  for (const char* e : kOutputEntries) {
    if (name == e) return true;
  }
  // A report writer's temporary name (write, fsync, rename).
  return name.find(".tmp") != std::string::npos;
}

// "" iff `out` may be replaced; else why not.
std::string Unreplaceable(const fs::path& out) {
  std::error_code ec;
  fs::file_status st = fs::symlink_status(out, ec);
  if (ec || !fs::exists(st)) return "";
  if (!fs::is_directory(st)) return out.string() + ": not a directory";
  for (const auto& e : fs::directory_iterator(out, ec)) {
    std::string name = e.path().filename().string();
    if (!IsOutputEntry(name)) {
      return out.string() + ": holds " + name +
             ", which no aftershock run wrote; give a new or empty directory as --out";
    }
  }
  if (ec) return out.string() + ": " + ec.message();
  return "";
}

bool SyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

StagedOut::~StagedOut() {
  if (!staging_.empty() && !committed_) {
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }
}

Status StagedOut::Begin(const std::string& out) {
  fs::path abs = fs::absolute(out).lexically_normal();
  if (abs.has_relative_path() && !abs.has_filename()) abs = abs.parent_path();  // "a/b/" -> "a/b"
  std::string name = abs.filename().string();
  if (name.empty() || name == "." || name == ".." || abs == abs.root_path()) {
    return Status::Error(out + ": cannot be replaced as a whole; name a directory");
  }
  if (std::string why = Unreplaceable(abs); !why.empty()) return Status::Error(why);
  std::error_code ec;
  fs::create_directories(abs.parent_path(), ec);
  if (ec) return Status::Error(abs.parent_path().string() + ": " + ec.message());
  out_ = abs.string();
  fs::path staging = abs.parent_path() / ("." + name + ".partial");
  fs::remove_all(staging, ec);  // what a killed run left: only ever a staging directory
  if (!fs::create_directory(staging, ec) || ec) {
    return Status::Error(staging.string() + ": " + (ec ? ec.message() : "exists"));
  }
  staging_ = staging.string();
  return Status::Ok();
}

Status StagedOut::Commit() {
  std::error_code ec;
  bool had_out = fs::exists(fs::symlink_status(out_, ec));
  int rc = had_out ? static_cast<int>(::syscall(SYS_renameat2, AT_FDCWD, staging_.c_str(),
                                                AT_FDCWD, out_.c_str(), RENAME_EXCHANGE))
                   : ::rename(staging_.c_str(), out_.c_str());
  if (rc != 0) {
    return Status::Error("cannot move " + staging_ + " to " + out_ + ": " + std::strerror(errno));
  }
  committed_ = true;
  // Without this fsync a power loss could bring back the earlier output.
  SyncDir(fs::path(out_).parent_path());
  if (had_out) fs::remove_all(staging_, ec);  // now the earlier output
  return Status::Ok();
}

}  // namespace aftershock
