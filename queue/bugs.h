// Named bug variants: each one is a realistic mistake (a missing or misplaced
// call) that a careless queue programmer makes. The harness must catch them.
// They are selected with `--bug NAME` or REFQUEUE_BUG (comma-separated).
#ifndef REFQUEUE_BUGS_H_
#define REFQUEUE_BUGS_H_

#include <bitset>
#include <span>
#include <string>
#include <string_view>

#include "status.h"

namespace refqueue {

enum class Bug {
  kAckBeforeFsync,
  kNoFsyncBeforeChmod,
  kChmodBeforeLastWrite,
  kNoDirFsync,
  kDoneBeforeDelivery,
  kNoDoneFsync,
  kMaildirLinkBeforeFsync,
  kNoFsyncNew,
  kWorkfileUnlinkFirst,
  kHardlinkUnlinkBeforeDirsync,
  kStaleIgnoresAge,
  kRecoverNotIdempotent,
  kCount,
};

struct BugInfo {
  Bug bug;
  std::string_view name;
  std::string_view breaks;  // one line for --help
};

// Every variant, in enum order.
std::span<const BugInfo> AllBugs();

class BugSet {
 public:
  bool Has(Bug bug) const { return bits_[static_cast<size_t>(bug)]; }
  void Add(Bug bug) { bits_.set(static_cast<size_t>(bug)); }
  bool empty() const { return bits_.none(); }

  // Parses "name[,name...]"; the empty string is the empty set.
  static Status Parse(std::string_view names, BugSet* out);

 private:
  std::bitset<static_cast<size_t>(Bug::kCount)> bits_;
};

}  // namespace refqueue

#endif  // REFQUEUE_BUGS_H_
