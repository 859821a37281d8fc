#include "injector/marks.h"

#include "injector/trace_file.h"

namespace aftershock {

bool AppendMark(const std::string& trace_path, std::string_view label, std::string_view data) {
  Op op;
  op.kind = OpKind::kMark;
  op.path = std::string(label);
  op.data = std::string(data);
  return AppendRecord(trace_path, std::move(op)) != 0;
}

}  // namespace aftershock
