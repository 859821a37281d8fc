// Shared by the queue tests: scratch directories, messages shaped like the
// harness's, reading what was delivered, and the delivery checker.
#ifndef TESTS_QUEUE_SUPPORT_H_
#define TESTS_QUEUE_SUPPORT_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "refqueue.h"

namespace refqueue::testing {

// A fresh directory (on /dev/shm when there is one), removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The message the harness would submit for `id`: headers, then `body_bytes`
// of deterministic text.
std::string MakeMessage(const std::string& id, const std::vector<std::string>& rcpts,
                        size_t body_bytes);

// The X-Aftershock-Id a message carries, or "" without one.
std::string IdOf(const std::string& content);

struct Delivery {
  std::string rcpt;
  std::string content;
};

// A queue root and a sink log beside it, outside the crash domain.
class Sandbox {
 public:
  Sandbox();
  std::string root() const { return dir_.path() + "/root"; }
  std::string log() const { return dir_.path() + "/sink.log"; }
  // Options for this root; deliveries go to the test sink (or to maildirs).
  Options MakeOptions(bool maildir, bool sink_refuses = false) const;
  // Every copy handed to the sink, then every copy in root/mail/*/{new,cur}.
  std::vector<Delivery> Deliveries() const;

 private:
  TempDir dir_;
};

struct Submitted {
  std::string content;
  std::vector<std::string> rcpts;
  bool acked = false;
};

// What the checker finds, per (message id, recipient) pair.
struct Outcome {
  std::vector<std::string> lost;        // acknowledged, never delivered
  std::vector<std::string> duplicated;  // delivered more than once
  std::vector<std::string> corrupt;     // delivered bytes differ from the submitted
  std::vector<std::string> phantom;     // never submitted for this recipient
  std::map<std::pair<std::string, std::string>, int> counts;

  bool Safe() const { return lost.empty() && corrupt.empty() && phantom.empty(); }
  std::string Describe() const;
};

Outcome Check(const std::map<std::string, Submitted>& submitted,
              const std::vector<Delivery>& deliveries);

// Paths of every regular file under `dir`, sorted.
std::vector<std::string> FilesUnder(const std::string& dir);

}  // namespace refqueue::testing

#endif  // TESTS_QUEUE_SUPPORT_H_
