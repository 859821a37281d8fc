// The list of fault points (what the crash tests sweep) and the points in the
// sources must be the same set: a point missing from the list would never be
// crashed at, and a listed point missing from the sources proves nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>

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

std::set<std::string> PointsInSources() {
  std::set<std::string> points;
  const std::regex literal("\"(refqueue/[a-z-]+/[a-z-]+)\"");
  for (const auto& entry : fs::directory_iterator(SourceDir())) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".cc") || name == "fault.cc") continue;
    std::string text;
    EXPECT_TRUE(ReadFile(entry.path().string(), &text).ok()) << entry.path();
    for (std::sregex_iterator it(text.begin(), text.end(), literal), end; it != end; ++it) {
      points.insert((*it)[1].str());
    }
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

}  // namespace
}  // namespace refqueue
