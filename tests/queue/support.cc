#include "support.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "fs.h"

namespace refqueue::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : fs::temp_directory_path();
  std::string pattern = base + "/refqueue-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::string MakeMessage(const std::string& id, const std::vector<std::string>& rcpts,
                        size_t body_bytes) {
  std::string to;
  for (const std::string& rcpt : rcpts) to += (to.empty() ? "" : ", ") + rcpt;
  std::string message = "Message-ID: <" + id + "@aftershock.invalid>\nX-Aftershock-Id: " + id +
                        "\nTo: " + to + "\nSubject: aftershock " + id + "\n\n";
  for (size_t i = 0; i < body_bytes; ++i) {
    message.push_back(i % 64 == 63 ? '\n' : static_cast<char>('a' + (i * 7 + id.size()) % 26));
  }
  return message;
}

std::string IdOf(const std::string& content) {
  const std::string key = "\nX-Aftershock-Id: ";
  size_t at = content.find(key);
  if (at == std::string::npos) return "";
  size_t start = at + key.size();
  return content.substr(start, content.find('\n', start) - start);
}

Sandbox::Sandbox() {}

Options Sandbox::MakeOptions(bool maildir, bool sink_refuses) const {
  // meson sets REFQUEUE_TEST_SINK; run by hand, the sink sits beside the test.
  const char* from_env = getenv("REFQUEUE_TEST_SINK");
  std::string sink =
      from_env != nullptr
          ? std::string(from_env)
          : (fs::read_symlink("/proc/self/exe").parent_path() / "queue-test-sink").string();
  Options options;
  options.root = root();
  options.now_s = 1000;
  options.maildir = maildir;
  options.sink = sink + " " + log() + (sink_refuses ? " --fail" : "");
  return options;
}

std::vector<Delivery> Sandbox::Deliveries() const {
  std::vector<Delivery> deliveries;
  std::string log_bytes;
  if (access(log().c_str(), F_OK) == 0 && !ReadFile(log(), &log_bytes).ok()) {
    throw std::runtime_error("cannot read " + log());
  }
  size_t pos = 0;
  while (pos < log_bytes.size()) {
    size_t eol = log_bytes.find('\n', pos);
    std::string header = log_bytes.substr(pos, eol - pos);  // "RCPTS a,b 123"
    size_t space = header.rfind(' ');
    std::string rcpts = header.substr(6, space - 6);
    size_t bytes = std::stoul(header.substr(space + 1));
    std::string content = log_bytes.substr(eol + 1, bytes);
    pos = eol + 1 + bytes;
    size_t start = 0;
    while (start <= rcpts.size()) {
      size_t comma = rcpts.find(',', start);
      if (comma == std::string::npos) comma = rcpts.size();
      deliveries.push_back({rcpts.substr(start, comma - start), content});
      start = comma + 1;
    }
  }
  std::vector<std::string> mailboxes;
  if (!ListDir(root() + "/mail", &mailboxes).ok()) throw std::runtime_error("list mail/");
  for (const std::string& rcpt : mailboxes) {
    for (const char* sub : {"/new", "/cur"}) {
      for (const std::string& path : FilesUnder(root() + "/mail/" + rcpt + sub)) {
        std::string content;
        if (!ReadFile(path, &content).ok()) throw std::runtime_error("read " + path);
        deliveries.push_back({rcpt, content});
      }
    }
  }
  return deliveries;
}

std::string Outcome::Describe() const {
  std::string text;
  auto list = [&text](const char* what, const std::vector<std::string>& pairs) {
    if (pairs.empty()) return;
    text += std::string(what) + ":";
    for (const std::string& pair : pairs) text += " " + pair;
    text += "\n";
  };
  list("lost", lost);
  list("duplicated", duplicated);
  list("corrupt", corrupt);
  list("phantom", phantom);
  return text.empty() ? "every pair delivered once\n" : text;
}

Outcome Check(const std::map<std::string, Submitted>& submitted,
              const std::vector<Delivery>& deliveries) {
  Outcome outcome;
  for (const Delivery& delivery : deliveries) {
    std::string id = IdOf(delivery.content);
    std::string pair = id + "/" + delivery.rcpt;
    auto it = submitted.find(id);
    bool known = it != submitted.end();
    bool addressed = known && std::find(it->second.rcpts.begin(), it->second.rcpts.end(),
                                        delivery.rcpt) != it->second.rcpts.end();
    if (!addressed) {
      outcome.phantom.push_back(pair);
    } else if (delivery.content != it->second.content) {
      outcome.corrupt.push_back(pair);
    } else if (++outcome.counts[{id, delivery.rcpt}] == 2) {
      outcome.duplicated.push_back(pair);
    }
  }
  for (const auto& [id, message] : submitted) {
    if (!message.acked) continue;
    for (const std::string& rcpt : message.rcpts) {
      if (outcome.counts[{id, rcpt}] == 0) outcome.lost.push_back(id + "/" + rcpt);
    }
  }
  return outcome;
}

std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code error;
  if (!fs::exists(dir, error)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace refqueue::testing
