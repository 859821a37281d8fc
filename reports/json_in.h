// Reading JSON that a person may have edited (report.json) with errors that
// name the member: "/scenarios/0/models/1/model: expected a string, found
// number". Members are checked for their type; nothing converts silently.
#pragma once

#include <nlohmann/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace aftershock {

// Thrown by JsonIn; `message` starts with the member's JSON pointer.
struct JsonInError {
  std::string message;
};

class JsonIn {
 public:
  // `j` must outlive this object and every JsonIn taken from it.
  JsonIn(const nlohmann::json& j, std::string pointer) : j_(&j), at_(std::move(pointer)) {}

  const nlohmann::json& json() const { return *j_; }
  // "/" for the document, else "/scenarios/0/name".
  std::string Pointer() const { return at_.empty() ? "/" : at_; }

  // True iff this is an object that holds `key`.
  bool Has(const std::string& key) const;
  // The member `key`. Throws when this is not an object or has no `key`.
  JsonIn operator[](const std::string& key) const;
  // Elements of an array. Throws when this is not an array.
  std::vector<JsonIn> Elements() const;

  // This value, of the named type. Each throws on another type.
  std::string String() const;
  uint64_t Unsigned() const;
  int64_t Int() const;
  double Number() const;
  bool Bool() const;
  std::vector<std::string> Strings() const;

  // Optional members: `fallback` when absent, else as above.
  std::string String(const std::string& key, const std::string& fallback) const;
  uint64_t Unsigned(const std::string& key, uint64_t fallback) const;
  int64_t Int(const std::string& key, int64_t fallback) const;
  double Number(const std::string& key, double fallback) const;
  bool Bool(const std::string& key, bool fallback) const;
  std::vector<std::string> Strings(const std::string& key) const;

  [[noreturn]] void Fail(const std::string& message) const;

 private:
  [[noreturn]] void Expected(const char* type) const;

  const nlohmann::json* j_;
  std::string at_;
};

}  // namespace aftershock
