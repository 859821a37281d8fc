#include "harness/target/toml_fields.h"

#include <cmath>

#include "harness/target/path_check.h"

namespace aftershock {

std::string Where(const std::string& file, const toml::source_region& region) {
  auto line = region.begin.line ? region.begin.line : 1;
  auto column = region.begin.column ? region.begin.column : 1;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

Status ParseTomlFile(const std::string& path, toml::table* out) {
  // A directory, FIFO or device would parse as empty or never end.
  if (std::string bad = InputFileError(path); !bad.empty()) return Status::Error(bad);
  try {
    *out = toml::parse_file(path);
    return Status::Ok();
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    if (!src.begin) return Status::Error(path + ":1:1: " + std::string(e.description()));
    return Status::Error(Where(path, src) + ": " + std::string(e.description()));
  }
}

TomlFields::TomlFields(const std::string& file, const toml::table& table, Status* status)
    : file_(file), table_(table), status_(status) {}

const toml::node* TomlFields::Get(std::string_view key) {
  seen_.emplace(key);
  return table_.get(key);
}

bool TomlFields::Fail(const toml::node* node, const std::string& message) {
  if (!ok()) return false;
  *status_ = Status::Error(Where(file_, node ? node->source() : table_.source()) + ": " + message);
  return false;
}

bool TomlFields::FailAt(std::string_view key, const std::string& message) {
  return Fail(table_.get(key), message);
}

bool TomlFields::String(std::string_view key, std::string* out, bool required) {
  if (!ok()) return false;
  const toml::node* n = Get(key);
  if (!n) {
    if (required) return Fail(nullptr, "missing required key '" + std::string(key) + "'");
    return true;
  }
  if (!n->is_string()) return Fail(n, "'" + std::string(key) + "' must be a string");
  *out = n->as_string()->get();
  return true;
}

bool TomlFields::Int(std::string_view key, int64_t* out, int64_t min, int64_t max, bool required) {
  if (!ok()) return false;
  const toml::node* n = Get(key);
  if (!n) {
    if (required) return Fail(nullptr, "missing required key '" + std::string(key) + "'");
    return true;
  }
  if (!n->is_integer()) return Fail(n, "'" + std::string(key) + "' must be an integer");
  int64_t v = n->as_integer()->get();
  if (v < min || v > max) {
    return Fail(n, "'" + std::string(key) + "' must be between " + std::to_string(min) + " and " +
                       std::to_string(max));
  }
  *out = v;
  return true;
}

bool TomlFields::Double(std::string_view key, double* out, double min, double max) {
  if (!ok()) return false;
  const toml::node* n = Get(key);
  if (!n) return true;
  double v;
  if (n->is_floating_point()) {
    v = n->as_floating_point()->get();
  } else if (n->is_integer()) {
    v = static_cast<double>(n->as_integer()->get());
  } else {
    return Fail(n, "'" + std::string(key) + "' must be a number");
  }
  if (!(v >= min && v <= max)) {
    return Fail(n, "'" + std::string(key) + "' must be between " + std::to_string(min) + " and " +
                       std::to_string(max));
  }
  *out = v;
  return true;
}

bool TomlFields::Bool(std::string_view key, bool* out) {
  if (!ok()) return false;
  const toml::node* n = Get(key);
  if (!n) return true;
  if (!n->is_boolean()) return Fail(n, "'" + std::string(key) + "' must be true or false");
  *out = n->as_boolean()->get();
  return true;
}

bool TomlFields::StringList(std::string_view key, std::vector<std::string>* out) {
  if (!ok()) return false;
  const toml::node* n = Get(key);
  if (!n) return true;
  if (!n->is_array()) return Fail(n, "'" + std::string(key) + "' must be an array of strings");
  out->clear();
  for (const toml::node& e : *n->as_array()) {
    if (!e.is_string()) return Fail(&e, "'" + std::string(key) + "' must hold strings only");
    out->push_back(e.as_string()->get());
  }
  return true;
}

bool TomlFields::IntList(std::string_view key, std::vector<int64_t>* out, int64_t min,
                         int64_t max) {
  if (!ok()) return false;
  const toml::node* n = Get(key);
  if (!n) return true;
  if (!n->is_array()) return Fail(n, "'" + std::string(key) + "' must be an array of integers");
  out->clear();
  for (const toml::node& e : *n->as_array()) {
    if (!e.is_integer()) return Fail(&e, "'" + std::string(key) + "' must hold integers only");
    int64_t v = e.as_integer()->get();
    if (v < min || v > max) {
      return Fail(&e, "'" + std::string(key) + "' values must be in [" + std::to_string(min) +
                          ", " + std::to_string(max) + "]");
    }
    out->push_back(v);
  }
  return true;
}

bool TomlFields::StringMap(std::string_view key,
                           std::vector<std::pair<std::string, std::string>>* out) {
  if (!ok()) return false;
  const toml::node* n = Get(key);
  if (!n) return true;
  if (!n->is_table()) return Fail(n, "'" + std::string(key) + "' must be a table");
  for (const auto& [k, v] : *n->as_table()) {
    if (!v.is_string()) {
      return Fail(&v, "'" + std::string(key) + "." + std::string(k.str()) + "' must be a string");
    }
    out->emplace_back(std::string(k.str()), v.as_string()->get());
  }
  return true;
}

bool TomlFields::Table(std::string_view key, const toml::table** out) {
  *out = nullptr;
  if (!ok()) return false;
  const toml::node* n = Get(key);
  if (!n) return true;
  if (!n->is_table()) return Fail(n, "'" + std::string(key) + "' must be a table");
  *out = n->as_table();
  return true;
}

bool TomlFields::Tables(std::string_view key, std::vector<const toml::table*>* out) {
  out->clear();
  if (!ok()) return false;
  const toml::node* n = Get(key);
  if (!n) return true;
  if (!n->is_array_of_tables()) {
    return Fail(
        n, "'" + std::string(key) + "' must be an array of tables ([[" + std::string(key) + "]])");
  }
  for (const toml::node& e : *n->as_array()) out->push_back(e.as_table());
  return true;
}

bool TomlFields::Finish() {
  if (!ok()) return false;
  for (const auto& [k, v] : table_) {
    if (!seen_.count(k.str())) {
      toml::source_region region = k.source();
      if (!region.begin) region = v.source();
      *status_ =
          Status::Error(Where(file_, region) + ": unknown key '" + std::string(k.str()) + "'");
      return false;
    }
  }
  return true;
}

}  // namespace aftershock
