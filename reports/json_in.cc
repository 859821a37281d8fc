#include "reports/json_in.h"

namespace aftershock {

using nlohmann::json;

void JsonIn::Fail(const std::string& message) const { throw JsonInError{Pointer() + ": " + message}; }

void JsonIn::Expected(const char* type) const {
  Fail(std::string("expected ") + type + ", found " + j_->type_name());
}

bool JsonIn::Has(const std::string& key) const { return j_->is_object() && j_->contains(key); }

JsonIn JsonIn::operator[](const std::string& key) const {
  if (!j_->is_object()) Expected("an object");
  auto it = j_->find(key);
  if (it == j_->end()) Fail("missing \"" + key + "\"");
  return JsonIn(*it, at_ + "/" + key);
}

std::vector<JsonIn> JsonIn::Elements() const {
  if (!j_->is_array()) Expected("an array");
  std::vector<JsonIn> out;
  out.reserve(j_->size());
  for (size_t i = 0; i < j_->size(); ++i) out.emplace_back((*j_)[i], at_ + "/" + std::to_string(i));
  return out;
}

std::string JsonIn::String() const {
  if (!j_->is_string()) Expected("a string");
  return j_->get<std::string>();
}

uint64_t JsonIn::Unsigned() const {
  if (j_->is_number_unsigned()) return j_->get<uint64_t>();
  if (j_->is_number_integer() && j_->get<int64_t>() >= 0) return j_->get<uint64_t>();
  Expected("a non-negative integer");
}

int64_t JsonIn::Int() const {
  if (j_->is_number_unsigned() && j_->get<uint64_t>() > uint64_t{INT64_MAX}) {
    Fail("integer out of range");
  }
  if (!j_->is_number_integer()) Expected("an integer");
  return j_->get<int64_t>();
}

double JsonIn::Number() const {
  if (!j_->is_number()) Expected("a number");
  return j_->get<double>();
}

bool JsonIn::Bool() const {
  if (!j_->is_boolean()) Expected("a boolean");
  return j_->get<bool>();
}

std::vector<std::string> JsonIn::Strings() const {
  std::vector<std::string> out;
  for (const JsonIn& e : Elements()) out.push_back(e.String());
  return out;
}

std::string JsonIn::String(const std::string& key, const std::string& fallback) const {
  return Has(key) ? (*this)[key].String() : fallback;
}
uint64_t JsonIn::Unsigned(const std::string& key, uint64_t fallback) const {
  return Has(key) ? (*this)[key].Unsigned() : fallback;
}
int64_t JsonIn::Int(const std::string& key, int64_t fallback) const {
  return Has(key) ? (*this)[key].Int() : fallback;
}
double JsonIn::Number(const std::string& key, double fallback) const {
  return Has(key) ? (*this)[key].Number() : fallback;
}
bool JsonIn::Bool(const std::string& key, bool fallback) const {
  return Has(key) ? (*this)[key].Bool() : fallback;
}
std::vector<std::string> JsonIn::Strings(const std::string& key) const {
  return Has(key) ? (*this)[key].Strings() : std::vector<std::string>{};
}

}  // namespace aftershock
