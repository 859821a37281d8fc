// Helpers for the third-party target tests: scratch directories and child
// processes driven over pipes, as the harness drives targets.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace aftershock::thirdparty_test {

// A fresh directory under TMPDIR (or /dev/shm); removed with everything in it
// when the object goes away. Nothing else is ever removed.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct RunResult {
  int status = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
};

// Runs `/bin/sh -c command` in `cwd` with the current environment plus
// `env`, `input` on stdin; waits for it.
RunResult RunShell(const std::string& command, const std::string& cwd,
                   const std::map<std::string, std::string>& env, const std::string& input);

// A long-running child with its stdin and stdout on pipes (daemon mode).
class Child {
 public:
  Child(const std::string& command, const std::string& cwd,
        const std::map<std::string, std::string>& env);
  ~Child();
  bool Send(const std::string& bytes);
  // The next line of stdout without its '\n'; false at end of output.
  bool ReadLine(std::string* line);
  // Closes stdin (EOF) and returns the exit status (128 + signal if killed).
  int CloseAndWait();

 private:
  pid_t pid_ = -1;
  int in_fd_ = -1;
  int out_fd_ = -1;
  std::string pending_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& bytes, int mode = 0644);
// Names of the entries of a directory, sorted ("." and ".." left out).
std::vector<std::string> ListDir(const std::string& path);

// A sink that stores each copy as DIR/copy.N: first line "RCPTS r1 r2...",
// then the message bytes. Exits `status`.
std::string WriteRecordingSink(const std::string& script_path, const std::string& out_dir,
                               int status = 0);

}  // namespace aftershock::thirdparty_test
