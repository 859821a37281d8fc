#include "harness/target/manifest.h"

#include <fnmatch.h>

#include <filesystem>

#include "harness/target/toml_fields.h"

namespace aftershock {
namespace {

bool ValidName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool good =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!good) return false;
  }
  return true;
}

constexpr const char* kPlaceholders[] = {"root", "id", "rcpts", "sink", "now", "manifest_dir"};

}  // namespace

std::string UnknownPlaceholder(const std::string& command) {
  size_t pos = 0;
  while ((pos = command.find('{', pos)) != std::string::npos) {
    size_t end = command.find('}', pos);
    if (end == std::string::npos) return "";
    std::string name = command.substr(pos + 1, end - pos - 1);
    bool known = false;
    for (const char* p : kPlaceholders) known |= (name == p);
    bool identifier = !name.empty();
    for (char c : name) identifier &= (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (identifier && !known) return name;
    pos = end + 1;
  }
  return "";
}

std::string AbsolutePath(const std::string& path, const std::string& base_dir) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
  return p.lexically_normal().string();
}

namespace {

// [commands]: the command lines and their limits.
Status LoadCommands(const std::string& path, const toml::table& commands, Manifest* out) {
  Manifest& m = *out;
  const toml::table* cmds = &commands;
  Status status;
  TomlFields c(path, *cmds, &status);
  c.String("init", &m.init);
  std::string mode = "exit";
  c.String("mode", &mode);
  if (c.ok() && mode == "daemon") {
    m.mode = CommandMode::kDaemon;
  } else if (c.ok() && mode != "exit") {
    c.FailAt("mode", "'mode' must be \"exit\" or \"daemon\"");
  }
  bool has_enqueue = cmds->contains("enqueue");
  bool has_serve = cmds->contains("serve");
  if (c.ok() && m.daemon() && has_enqueue) {
    c.FailAt("enqueue", "'enqueue' is for exit mode; in daemon mode requests go to 'serve'");
  } else if (c.ok() && !m.daemon() && has_serve) {
    c.FailAt("serve", "'serve' needs mode = \"daemon\"");
  }
  c.String("enqueue", &m.enqueue, !m.daemon());
  c.String("serve", &m.serve, m.daemon());
  if (c.ok() && !m.daemon() && m.enqueue.empty()) {
    c.FailAt("enqueue", "'enqueue' must not be empty");
  }
  if (c.ok() && m.daemon() && m.serve.empty()) c.FailAt("serve", "'serve' must not be empty");
  c.String("deliver", &m.deliver);
  c.String("recover", &m.recover);
  c.Int("timeout_s", &m.timeout_s, 1, 86400);
  c.Int("drain_rounds", &m.drain_rounds, 1, 1000);
  c.Bool("network", &m.network);
  if (const toml::node* fs = cmds->get("fork_server"); fs != nullptr && fs->is_string()) {
    std::string mode;
    c.String("fork_server", &mode);
    if (c.ok() && mode != "deferred") {
      c.FailAt("fork_server", "'fork_server' must be true, false or \"deferred\"");
    }
    m.fork_server_deferred = true;
  } else {
    c.Bool("fork_server", &m.fork_server);
  }
  for (const char* key : {"init", "enqueue", "serve", "deliver", "recover"}) {
    if (!c.ok()) break;
    std::string cmd;
    c.String(key, &cmd);
    std::string bad = UnknownPlaceholder(cmd);
    if (!bad.empty()) c.FailAt(key, "unknown placeholder {" + bad + "}");
  }
  c.Finish();
  return status;
}

// [mailbox]: where the checker looks for delivered copies.
Status LoadMailbox(const std::string& path, const toml::table& mailbox, Manifest* out) {
  Manifest& m = *out;
  const toml::table* box = &mailbox;
  Status status;
  TomlFields b(path, *box, &status);
  std::string kind = "sink";
  b.String("kind", &kind);
  if (b.ok()) {
    if (kind == "sink") {
      m.mailbox_kind = MailboxKind::kSink;
    } else if (kind == "maildir") {
      m.mailbox_kind = MailboxKind::kMaildir;
    } else if (kind == "mbox") {
      m.mailbox_kind = MailboxKind::kMbox;
    } else {
      b.FailAt("kind", "'kind' must be \"sink\", \"maildir\" or \"mbox\"");
    }
  }
  b.String("path", &m.mailbox_path);
  if (b.ok() && m.mailbox_in_root() && m.mailbox_path.empty()) {
    b.Fail(nullptr, "kind = \"" + kind + "\" requires 'path'");
  }
  if (b.ok() && m.mailbox_kind == MailboxKind::kSink && !m.mailbox_path.empty()) {
    b.FailAt("path", "'path' is only for kind = \"maildir\" or \"mbox\"");
  }
  if (b.ok() && !m.mailbox_path.empty() &&
      (m.mailbox_path[0] == '/' || m.mailbox_path.find("..") != std::string::npos)) {
    b.FailAt("path", "'path' must be relative to {root} and stay inside it");
  }
  b.Finish();
  return status;
}

// [gaps] and [faults]: files the target rebuilds, its own fault points.
Status LoadGapsAndFaults(const std::string& path, const toml::table* gaps,
                         const toml::table* faults, Manifest* out) {
  Manifest& m = *out;
  Status status;
  if (gaps) {
    TomlFields g(path, *gaps, &status);
    g.StringList("rebuilt", &m.rebuilt);
    for (const auto& p : m.rebuilt) {
      if (!g.ok()) break;
      if (p.empty() || p[0] == '/' || p.find("..") != std::string::npos) {
        g.FailAt("rebuilt", "'rebuilt' paths must be relative to {root} and stay inside it");
      }
    }
    if (!g.Finish()) return status;
  }
  if (faults) {
    TomlFields f(path, *faults, &status);
    f.StringList("points", &m.fault_points);
    for (const auto& p : m.fault_points) {
      if (!f.ok()) break;
      if (!ValidPointName(p)) f.FailAt("points", "'" + p + "' is not a fault point name");
    }
    f.Finish();
  }
  return status;
}

// [promises]: two booleans, true unless the manifest says otherwise.
Status LoadPromises(const std::string& path, const toml::table* promises, Manifest* out) {
  Status status;
  if (!promises) return status;
  TomlFields p(path, *promises, &status);
  p.Bool("recover_beside_enqueue", &out->recover_beside_enqueue);
  p.Bool("deliver_beside_enqueue", &out->deliver_beside_enqueue);
  p.Finish();
  return status;
}

}  // namespace

Status LoadManifest(const std::string& path, Manifest* out) {
  Manifest m;
  m.file = AbsolutePath(path, std::filesystem::current_path().string());
  m.dir = std::filesystem::path(m.file).parent_path().string();
  toml::table root;
  Status status = ParseTomlFile(path, &root);
  if (!status.ok()) return status;

  TomlFields top(path, root, &status);
  const toml::table* commands = nullptr;
  const toml::table* mailbox = nullptr;
  const toml::table* gaps = nullptr;
  const toml::table* faults = nullptr;
  const toml::table* promises = nullptr;
  top.String("name", &m.name, true);
  if (top.ok() && !ValidName(m.name)) top.FailAt("name", "'name' must match [a-z0-9._-]+");
  top.String("description", &m.description);
  top.Table("commands", &commands);
  if (top.ok() && !commands) top.Fail(nullptr, "missing required table [commands]");
  top.Table("mailbox", &mailbox);
  top.StringMap("env", &m.env);
  top.Table("gaps", &gaps);
  top.Table("faults", &faults);
  top.Table("promises", &promises);
  if (!top.Finish()) return status;

  status = LoadCommands(path, *commands, &m);
  if (status.ok() && mailbox) status = LoadMailbox(path, *mailbox, &m);
  if (status.ok()) status = LoadGapsAndFaults(path, gaps, faults, &m);
  if (status.ok()) status = LoadPromises(path, promises, &m);
  if (!status.ok()) return status;
  *out = std::move(m);
  return Status::Ok();
}

bool ValidPointName(const std::string& point) {
  return !point.empty() && point.find_first_of(" \t\n;=") == std::string::npos;
}

bool IsRebuilt(const Manifest& m, const std::string& rel) {
  for (const auto& pattern : m.rebuilt) {
    if (fnmatch(pattern.c_str(), rel.c_str(), FNM_PATHNAME) == 0) return true;
  }
  return false;
}

}  // namespace aftershock
