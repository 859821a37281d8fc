// Fuzz target: the target manifest parser (harness/manifest.h). Any bytes
// are a manifest or an error at file:line:column; never a crash.
#include "harness/target/manifest.h"
#include "tests/fuzz/fuzz_input.h"

using namespace aftershock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::InputFileCleanup cleanup;
  std::string path = fuzz::InputFile(data, size, ".toml");
  cleanup.path = path;
  Manifest manifest;
  Status st = LoadManifest(path, &manifest);
  if (st.ok()) {
    if (manifest.name.empty()) fuzz::Broken("a valid manifest without a name");
    return 0;
  }
  if (!fuzz::HasPlace(st.message(), path)) {
    fuzz::Broken("manifest error without a place: " + st.message());
  }
  return 0;
}
