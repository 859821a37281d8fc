// The list of fault points (what the crash tests sweep) and the points in the
// sources must be the same set: a point missing from the list would never be
// crashed at, and a listed point missing from the sources proves nothing.
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <filesystem>
#include <set>
#include <string_view>

#include "fault.h"
#include "fs.h"

namespace refqueue {
namespace {

namespace fs = std::filesystem;

fs::path SourceDir() {
  const char* from_env = getenv("REFQUEUE_SOURCE_DIR");
  if (from_env != nullptr) return from_env;
  return fs::read_symlink("/proc/self/exe").parent_path() / "../../../queue";
}

// True iff `name` is refqueue/<group>/<point>, both parts of [a-z-]+.
bool IsPointName(std::string_view name) {
  constexpr std::string_view kPrefix = "refqueue/";
  if (!name.starts_with(kPrefix)) return false;
  name.remove_prefix(kPrefix.size());
  size_t slash = name.find('/');
  if (slash == 0 || slash == std::string_view::npos || slash + 1 == name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (i != slash && !(c >= 'a' && c <= 'z') && c != '-') return false;
  }
  return true;
}

// The string literals "refqueue/<group>/<point>" in `text`. (A scan, not
// std::regex: GCC 12 warns maybe-uninitialized inside <regex> when built
// with -fsanitize=address, and the sanitizer build keeps werror.)
void CollectPoints(const std::string& text, std::set<std::string>* points) {
  for (size_t at = text.find("\"refqueue/"); at != std::string::npos;
       at = text.find("\"refqueue/", at + 1)) {
    size_t end = text.find('"', at + 1);
    if (end == std::string::npos) break;
    std::string_view name(text.data() + at + 1, end - at - 1);
    if (IsPointName(name)) points->insert(std::string(name));
  }
}

std::set<std::string> PointsInSources() {
  std::set<std::string> points;
  for (const auto& entry : fs::directory_iterator(SourceDir())) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".cc") || name == "fault.cc") continue;
    std::string text;
    EXPECT_TRUE(ReadFile(entry.path().string(), &text).ok()) << entry.path();
    CollectPoints(text, &points);
  }
  return points;
}

TEST(FaultPoints, TheListMatchesThePointsInTheSources) {
  std::set<std::string> listed;
  for (std::string_view point : FaultPoints()) {
    EXPECT_TRUE(listed.insert(std::string(point)).second) << "listed twice: " << point;
  }
  std::set<std::string> in_sources = PointsInSources();
  EXPECT_GE(in_sources.size(), 20u) << "the sources were not found in " << SourceDir();
  EXPECT_EQ(listed, in_sources);
}

// refqueue's manifests declare its points ([faults] points), so that a
// scenario may arm them: each must declare exactly the listed ones.
TEST(FaultPoints, EveryRefqueueManifestDeclaresTheListedPoints) {
  std::set<std::string> listed(FaultPoints().begin(), FaultPoints().end());
  const char* dir = getenv("REFQUEUE_TARGETS_DIR");
  ASSERT_NE(dir, nullptr);
  int manifests = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("refqueue") || !name.ends_with(".toml")) continue;
    ++manifests;
    toml::table root = toml::parse_file(entry.path().string());
    std::set<std::string> declared;
    if (const toml::array* points = root["faults"]["points"].as_array()) {
      for (const auto& p : *points) declared.insert(p.value_or(std::string()));
    }
    EXPECT_EQ(declared, listed) << name;
  }
  EXPECT_GE(manifests, 4);
}

}  // namespace
}  // namespace refqueue
