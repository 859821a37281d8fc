// libfiu, loaded only by processes that need it (a fault rule, FIU_ENABLE or
// fiu-ctrl control): most traced processes never pay for loading it. When
// the target links libfiu itself, dlopen returns that same instance, so its
// own points and ours share one control.
#pragma once

namespace aftershock::inject {

struct FiuApi {
  int (*init)(unsigned flags) = nullptr;
  int (*fail)(const char* name) = nullptr;
  void* (*failinfo)() = nullptr;
  int (*enable_external)(const char* name, int failnum, void* failinfo, unsigned flags,
                         int (*cb)(const char*, int*, void**, unsigned*)) = nullptr;
  int (*rc_string)(const char* cmd, char** const error) = nullptr;
  int (*rc_fifo)(const char* basename) = nullptr;
};

extern FiuApi g_fiu;

// Loads libfiu and fills g_fiu. Returns true iff every entry point was
// found. Not async-signal-safe: call from the constructor only.
bool LoadFiu();

}  // namespace aftershock::inject
