// Typed, position-aware reading of one TOML table, shared by the manifest and
// scenario parsers. Every error names file:line:column of the offending key or
// value, and keys nobody asked for are errors (a typo must never be ignored).
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "model/status.h"

namespace aftershock {

// "file:line:column" of a source region (1:1 when toml++ gives none).
std::string Where(const std::string& file, const toml::source_region& region);

// Parses `path` as TOML into *out; else the error says where.
Status ParseTomlFile(const std::string& path, toml::table* out);

class TomlFields {
 public:
  // `table` and `status` must outlive this object. `status` receives the
  // first error (an accumulator: the getters below stop once it is set).
  TomlFields(const std::string& file, const toml::table& table, Status* status);

  // Each getter leaves *out untouched when the key is absent and returns
  // false iff an error has been recorded (by this call or an earlier one).
  bool String(std::string_view key, std::string* out, bool required = false);
  bool Int(std::string_view key, int64_t* out, int64_t min, int64_t max, bool required = false);
  bool Double(std::string_view key, double* out, double min, double max);
  bool Bool(std::string_view key, bool* out);
  bool StringList(std::string_view key, std::vector<std::string>* out);
  // Every element in [min, max].
  bool IntList(std::string_view key, std::vector<int64_t>* out, int64_t min, int64_t max);
  // A table of string values, in file order.
  bool StringMap(std::string_view key, std::vector<std::pair<std::string, std::string>>* out);
  // *out = nullptr when absent.
  bool Table(std::string_view key, const toml::table** out);
  // Array of tables ([[key]]); empty when absent.
  bool Tables(std::string_view key, std::vector<const toml::table*>* out);

  // Records an error at `node` (or at the table when null).
  bool Fail(const toml::node* node, const std::string& message);
  // Records an error at the value of `key`.
  bool FailAt(std::string_view key, const std::string& message);

  // Returns false (with an error) iff a key was never asked for.
  bool Finish();

  bool ok() const { return status_->ok(); }
  const std::string& file() const { return file_; }
  // Where errors go: for the fields of a nested table.
  Status* status() const { return status_; }

 private:
  const toml::node* Get(std::string_view key);

  const std::string& file_;
  const toml::table& table_;
  Status* status_;
  std::set<std::string, std::less<>> seen_;
};

}  // namespace aftershock
