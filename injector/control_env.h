// The environment variables that control the recorder: the launcher sets
// them (launch.cc, BuildEnv) and drops stale ones, and the recorder puts
// them back into an execve whose environment lost them (preload.cc).
#pragma once

namespace aftershock::inject {

inline constexpr const char* kRecorderControlEnv[] = {
    "AFTERSHOCK_TRACE",       "AFTERSHOCK_ROOT",     "AFTERSHOCK_ALLOW",     "AFTERSHOCK_FAULTS",
    "AFTERSHOCK_FAULTS_FILE", "AFTERSHOCK_FIU_CTRL", "AFTERSHOCK_UNRECORDED", "AFTERSHOCK_PTRACE"};

}  // namespace aftershock::inject
