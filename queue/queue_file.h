// Queue files on disk: the commit protocol that writes one, loading and
// validating, the in-place done mark, and quarantine of invalid files.
#ifndef REFQUEUE_QUEUE_FILE_H_
#define REFQUEUE_QUEUE_FILE_H_

#include <string>
#include <vector>

#include "bugs.h"
#include "fs.h"
#include "layout.h"
#include "queue_file_format.h"
#include "status.h"

namespace refqueue {

// Which step writes the file; it names the fault points on the way.
enum class Writer { kEnqueue, kFanout };

// Writes `file` as a new file at `path` and marks it complete: create without
// +x (O_EXCL), write, fsync, fchmod +x, fsync. The caller fsyncs the directory.
// Sets *exists and writes nothing if `path` is taken.
Status CommitQueueFile(const std::string& path, QueueFile* file, Writer writer, const BugSet& bugs,
                       bool* exists);

// Reads and validates the file at `path`; an invalid file gives IsInvalid().
// Leaves `fd` open for done marks when it is not null.
Status LoadQueueFile(const std::string& path, QueueFile* file, Fd* fd);

// Overwrites the status byte of each of `rcpts` with kDone (one-byte pwrite
// each), then fsyncs the file.
Status MarkDone(int fd, const std::string& path, const std::vector<Recipient*>& rcpts,
                const BugSet& bugs);

// Undoes a done mark (only the done-before-delivery bug needs this).
Status MarkPending(int fd, const std::string& path, const std::vector<Recipient*>& rcpts);

// Moves `dir/name` to corrupt/<dir's base name>.<name>: never delivered, never
// deleted.
Status Quarantine(const Layout& layout, const std::string& dir, const std::string& name);

}  // namespace refqueue

#endif  // REFQUEUE_QUEUE_FILE_H_
