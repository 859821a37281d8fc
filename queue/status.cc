#include "status.h"

#include <cstring>

namespace refqueue {

Status Status::IoError(const std::string& context, int err) {
  return Status(kIoError, context + ": " + std::strerror(err));
}

}  // namespace refqueue
