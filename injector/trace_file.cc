#include "injector/trace_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "common/file_io.h"
#include "injector/shared_page.h"

namespace aftershock {
namespace {

std::string SeqPath(const std::string& trace) { return trace + ".seq"; }

std::string Err(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

bool CreateTrace(const std::string& path, std::string* error, const std::string& root,
                 const std::string& meta) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = Err(path);
    return false;
  }
  ::close(fd);
  {
    TraceWriter header(path);  // writes the file header into the empty file
    if (!header.ok()) {
      *error = header.Error();
      return false;
    }
  }
  std::string seq = SeqPath(path);
  int sfd = ::open(seq.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (sfd < 0 || ::ftruncate(sfd, inject::kSharedPageSize) != 0) {
    *error = Err(seq);
    if (sfd >= 0) ::close(sfd);
    return false;
  }
  inject::SharedPage page{};
  page.magic = inject::kSharedPageMagic;
  page.next_seq = 1;
  bool ok = WriteAll(sfd, &page, sizeof page);
  ::close(sfd);
  if (!ok) {
    *error = Err(seq);
    return false;
  }
  // Always a kMeta first: the modes the recorder writes are the modes files
  // got, so a reader must not apply a umask again.
  Op m;
  m.kind = OpKind::kMeta;
  m.path = root;
  m.data = "umask=0\n" + meta;
  return AppendRecord(path, m, error) != 0;
}

bool TraceExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && ::stat(SeqPath(path).c_str(), &st) == 0 &&
         st.st_size >= static_cast<off_t>(sizeof(inject::SharedPage));
}

uint64_t AppendRecord(const std::string& trace_path, Op op, std::string* error) {
  std::string seq_path = SeqPath(trace_path);
  int sfd = ::open(seq_path.c_str(), O_RDWR | O_CLOEXEC);
  if (sfd < 0) {
    if (error) *error = Err(seq_path);
    return 0;
  }
  void* map = ::mmap(nullptr, inject::kSharedPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
  ::close(sfd);
  if (map == MAP_FAILED) {
    if (error) *error = Err(seq_path);
    return 0;
  }
  auto* page = static_cast<inject::SharedPage*>(map);
  if (page->magic != inject::kSharedPageMagic) {
    ::munmap(map, inject::kSharedPageSize);
    if (error) *error = seq_path + ": not an aftershock sequence file";
    return 0;
  }
  TraceWriter writer(trace_path);
  if (!writer.ok()) {
    ::munmap(map, inject::kSharedPageSize);
    if (error) *error = writer.Error();
    return 0;
  }
  op.seq = inject::TakeSeq(page);
  ::munmap(map, inject::kSharedPageSize);
  if (op.pid == 0) op.pid = ::getpid();
  if (op.tid == 0) op.tid = ::gettid();
  // Its own reserved bytes: whole among the target's records.
  bool ok = writer.Append(op);
  if (!ok && error) *error = trace_path + ": " + writer.Error();
  return ok ? op.seq : 0;
}

}  // namespace aftershock
