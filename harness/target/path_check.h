// Checks of the paths a user gives (on the command line or in a scenario),
// made before any work starts, so that a bad one is an input error (exit
// status 2) whose message names the path, never an exception from
// std::filesystem. Each function returns "" when the path is usable, else a
// message that starts with the path.
#pragma once

#include <string>

namespace aftershock {

// The most workers --jobs accepts (0 means one per core).
inline constexpr int kMaxJobs = 256;

// Not empty, every component at most NAME_MAX bytes, the whole under PATH_MAX.
std::string PathShapeError(const std::string& path);
// A regular file this process can open for reading (symlinks followed; a
// loop, a directory, a FIFO or a device is an error).
std::string InputFileError(const std::string& path);
// A directory that exists or can be created: well-formed, and neither it nor
// its nearest existing ancestor is a non-directory or a symlink loop.
std::string OutputDirError(const std::string& path);

}  // namespace aftershock
