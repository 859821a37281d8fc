// Fuzz target: the scenario parser (harness/scenario.h). Any bytes are a
// scenario or an error at file:line:column; never a crash.
#include "harness/target/scenario.h"
#include "tests/fuzz/fuzz_input.h"

using namespace aftershock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::InputFileCleanup cleanup;
  std::string path = fuzz::InputFile(data, size, ".toml");
  cleanup.path = path;
  Scenario scenario;
  Status st = LoadScenario(path, &scenario);
  if (st.ok()) {
    if (scenario.steps.empty()) fuzz::Broken("a valid scenario without steps");
    if (scenario.target.empty()) fuzz::Broken("a valid scenario without a target");
    return 0;
  }
  if (!fuzz::HasPlace(st.message(), path)) {
    fuzz::Broken("scenario error without a place: " + st.message());
  }
  return 0;
}
