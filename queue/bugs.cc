#include "bugs.h"

#include <array>

namespace refqueue {
namespace {

constexpr std::array<BugInfo, static_cast<size_t>(Bug::kCount)> kBugs = {{
    {Bug::kAckBeforeFsync, "ack-before-fsync",
     "queue files are never fsynced: close() is trusted, acked mail is lost on power loss"},
    {Bug::kNoFsyncBeforeChmod, "no-fsync-before-chmod",
     "+x may reach the disk before the bytes: a torn output is trusted as complete"},
    {Bug::kChmodBeforeLastWrite, "chmod-before-last-write",
     "+x is set before the end record is written: a crash leaves a trusted torn output"},
    {Bug::kNoDirFsync, "no-dir-fsync",
     "incoming/ is not fsynced after the create: the acked file's name can vanish"},
    {Bug::kDoneBeforeDelivery, "done-before-delivery",
     "the done mark is written before the hand-off: a crash in between loses the copy"},
    {Bug::kNoDoneFsync, "no-done-fsync",
     "the done mark is not fsynced: power loss redelivers (duplicates)"},
    {Bug::kMaildirLinkBeforeFsync, "maildir-link-before-fsync",
     "the maildir copy is linked into new/ before it is fsynced: a torn copy is delivered"},
    {Bug::kNoFsyncNew, "no-fsync-new",
     "new/ is not fsynced before the done mark: the copy's name can vanish after the mark"},
    {Bug::kWorkfileUnlinkFirst, "workfile-unlink-first",
     "the work file is removed before its outputs are committed: a crash loses the message"},
    {Bug::kHardlinkUnlinkBeforeDirsync, "hardlink-unlink-before-dirsync",
     "the link source is removed before the queue directories are synced: links can vanish"},
    {Bug::kStaleIgnoresAge, "stale-ignores-age",
     "stale removal deletes every incomplete file, also one an enqueue is still writing"},
    {Bug::kRecoverNotIdempotent, "recover-not-idempotent",
     "roll-forward writes outputs under fresh names: re-running it after a crash duplicates"},
}};

}  // namespace

std::span<const BugInfo> AllBugs() { return kBugs; }

Status BugSet::Parse(std::string_view names, BugSet* out) {
  BugSet set;
  while (!names.empty()) {
    size_t comma = names.find(',');
    std::string_view name = names.substr(0, comma);
    names = comma == std::string_view::npos ? std::string_view() : names.substr(comma + 1);
    if (name.empty()) continue;
    bool found = false;
    for (const BugInfo& info : kBugs) {
      if (info.name == name) {
        set.Add(info.bug);
        found = true;
      }
    }
    if (!found) return Status::Invalid("unknown bug variant '" + std::string(name) + "'");
  }
  *out = set;
  return Status::Ok();
}

}  // namespace refqueue
