// ReadReportFile (writers.h): report.json from disk, with errors that say
// where it is wrong.
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "reports/writers.h"

namespace aftershock {
namespace {

using nlohmann::json;

// "line L, column C" of byte `offset` (nlohmann counts the bytes read,
// so the offending byte is the one before).
std::string Where(const std::string& text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i + 1 < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// The members ReportFromJson requires, checked with their JSON pointer so a
// hand-edited report says where it is wrong.
bool CheckShape(const json& j, std::string* where) {
  auto need = [&](const json& obj, const std::string& at, const char* key,
                  json::value_t type) -> bool {
    if (!obj.is_object() || !obj.contains(key)) {
      *where = at + ": missing \"" + key + "\"";
      return false;
    }
    const json& v = obj.at(key);
    bool ok = v.type() == type || (type == json::value_t::number_unsigned &&
                                   v.is_number_integer() && v.get<int64_t>() >= 0);
    if (!ok) {
      *where = at + "/" + key + ": expected " + json(type).type_name() + ", found " + v.type_name();
      return false;
    }
    return true;
  };
  using T = json::value_t;
  if (!j.is_object()) {
    *where = "/: expected an object";
    return false;
  }
  if (!need(j, "", "schema", T::string) || !need(j, "", "schema_version", T::number_unsigned) ||
      !need(j, "", "aftershock_version", T::string) || !need(j, "", "seed", T::number_unsigned) ||
      !need(j, "", "scenarios", T::array))
    return false;
  for (size_t si = 0; si < j["scenarios"].size(); ++si) {
    const json& s = j["scenarios"][si];
    std::string at = "/scenarios/" + std::to_string(si);
    if (!need(s, at, "name", T::string) || !need(s, at, "file", T::string) ||
        !need(s, at, "models", T::array))
      return false;
    for (size_t mi = 0; mi < s["models"].size(); ++mi) {
      const json& m = s["models"][mi];
      std::string mat = at + "/models/" + std::to_string(mi);
      if (!need(m, mat, "model", T::string) || !need(m, mat, "strategy", T::string) ||
          !need(m, mat, "verdicts", T::object) || !need(m, mat, "groups", T::array))
        return false;
      for (size_t gi = 0; gi < m["groups"].size(); ++gi) {
        std::string gat = mat + "/groups/" + std::to_string(gi);
        if (!need(m["groups"][gi], gat, "verdict", T::string)) return false;
        const json& g = m["groups"][gi];
        if (g.contains("evidence") && !g["evidence"].is_object()) {
          *where = gat + "/evidence: expected object";
          return false;
        }
      }
    }
  }
  return true;
}

}  // namespace

Status ReadReportFile(const std::string& path, Report* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    size_t colon = what.rfind(": ");
    return Status::Error(path + ": " + Where(text, e.byte) + ": malformed JSON: " +
                         (colon == std::string::npos ? what : what.substr(colon + 2)));
  }
  std::string where;
  if (!CheckShape(j, &where)) return Status::Error(path + ": " + where);
  if (Status st = ReportFromJson(j, out); !st.ok()) return Status::Error(path + ": " + st.message());
  return Status::Ok();
}

}  // namespace aftershock
