#include "injector/fiu_api.h"

#include <dlfcn.h>

namespace aftershock::inject {

FiuApi g_fiu;

bool LoadFiu() {
  if (g_fiu.fail != nullptr) return true;
  void* h = dlopen("libfiu.so.0", RTLD_NOW | RTLD_GLOBAL);
  if (h == nullptr) h = dlopen("libfiu.so", RTLD_NOW | RTLD_GLOBAL);
  if (h == nullptr) return false;
  FiuApi api;
  api.init = reinterpret_cast<decltype(api.init)>(dlsym(h, "fiu_init"));
  api.fail = reinterpret_cast<decltype(api.fail)>(dlsym(h, "fiu_fail"));
  api.failinfo = reinterpret_cast<decltype(api.failinfo)>(dlsym(h, "fiu_failinfo"));
  api.enable_external =
      reinterpret_cast<decltype(api.enable_external)>(dlsym(h, "fiu_enable_external"));
  api.rc_string = reinterpret_cast<decltype(api.rc_string)>(dlsym(h, "fiu_rc_string"));
  api.rc_fifo = reinterpret_cast<decltype(api.rc_fifo)>(dlsym(h, "fiu_rc_fifo"));
  if (!api.init || !api.fail || !api.failinfo || !api.enable_external || !api.rc_string ||
      !api.rc_fifo) {
    return false;
  }
  g_fiu = api;
  return g_fiu.init(0) == 0;
}

}  // namespace aftershock::inject
