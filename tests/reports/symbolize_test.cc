#include "reports/symbolize.h"

#include <gtest/gtest.h>
#include <limits.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace aftershock {
namespace {

std::string SelfPath() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// Lowest mapping of our own executable, as the injector computes module starts.
uint64_t SelfBase(const std::string& self) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  uint64_t lowest = UINT64_MAX;
  while (std::getline(maps, line)) {
    if (line.size() < self.size() || line.compare(line.size() - self.size(), self.size(), self))
      continue;
    uint64_t start = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
    if (start < lowest) lowest = start;
  }
  return lowest;
}

__attribute__((noinline)) uintptr_t ReturnAddress() {
  uintptr_t a = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
  asm volatile("" ::: "memory");
  return a;
}

TEST(Symbolize, ReturnAddressMapsToTheCallingLine) {
  const int expected_line = __LINE__ + 1;
  uintptr_t ra = ReturnAddress();
  std::string self = SelfPath();
  uint64_t base = SelfBase(self);
  ASSERT_NE(base, UINT64_MAX);
  Symbolizer sym;
  SourceLocation loc = sym.Lookup(self, ra - base);
  ASSERT_TRUE(loc.known()) << "no line for offset " << (ra - base);
  EXPECT_NE(loc.file.find("symbolize_test.cc"), std::string::npos) << loc.file;
  EXPECT_EQ(loc.line, expected_line);
  EXPECT_NE(loc.function.find("ReturnAddressMapsToTheCallingLine"), std::string::npos)
      << loc.function;
}

TEST(Symbolize, MissingModuleIsUnknownNotAnError) {
  Symbolizer sym;
  EXPECT_FALSE(sym.Lookup("/nonexistent/module.so", 0x1234).known());
  EXPECT_EQ(sym.Lookup("/nonexistent/module.so", 0x1234).ToString(), "");
}

TEST(Symbolize, OffsetOutsideTheModuleIsUnknown) {
  Symbolizer sym;
  EXPECT_FALSE(sym.Lookup(SelfPath(), uint64_t{1} << 40).known());
}

}  // namespace
}  // namespace aftershock
