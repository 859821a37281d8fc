#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <filesystem>

#include "reports/html.h"
#include "reports/sarif.h"
#include "reports/writers.h"

namespace aftershock {

Status WriteFileAtomically(const std::string& path, const std::string& bytes) {
  std::filesystem::path p(path);
  std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  std::string tmp = dir + "/." + p.filename().string() + ".tmp" + std::to_string(getpid());
  auto fail = [&](const char* what) {
    return Status::Error(std::string(what) + " " + tmp + ": " + strerror(errno));
  };
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("create");
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      unlink(tmp.c_str());
      return fail("write");
    }
    off += static_cast<size_t>(n);
  }
  // Without this fsync a crash after the rename could leave an empty report.
  if (fsync(fd) != 0) {
    close(fd);
    unlink(tmp.c_str());
    return fail("fsync");
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return fail("rename");
  }
  // The rename itself is durable only once the directory is synced.
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return Status::Ok();
}

Status WriteReports(const Report& report, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Error("cannot create " + dir + ": " + ec.message());
  // Paths are bytes, JSON is UTF-8: an invalid sequence becomes U+FFFD, not an exception.
  std::string json_text =
      ReportToJson(report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  Status st = WriteFileAtomically(dir + "/report.json", json_text);
  if (st.ok()) st = WriteFileAtomically(dir + "/junit.xml", ReportToJunit(report));
  if (st.ok()) st = WriteFileAtomically(dir + "/summary.md", ReportToMarkdown(report));
  if (st.ok()) st = WriteFileAtomically(dir + "/report.html", ReportToHtml(report));
  if (st.ok()) st = WriteFileAtomically(dir + "/results.sarif", ReportToSarif(report, {}));
  return st;
}

}  // namespace aftershock
