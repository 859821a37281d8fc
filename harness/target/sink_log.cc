#include "harness/target/sink_log.h"

#include <fstream>
#include <sstream>

#include "harness/target/message.h"

namespace aftershock {

namespace {
constexpr std::string_view kTag = "AFTERSHOCK-SINK ";
}

std::string EncodeSinkRecord(const std::vector<std::string>& rcpts, std::string_view copy) {
  std::string r(kTag);
  r += std::to_string(copy.size());
  r += ' ';
  r += Xxh64Hex(copy);
  for (const auto& rc : rcpts) {
    r += ' ';
    r += rc;
  }
  r += '\n';
  r += copy;
  r += '\n';
  return r;
}

bool ReadSinkLog(const std::string& path, std::vector<SinkRecord>* out) {
  out->clear();
  std::ifstream in(path, std::ios::binary);
  if (!in) return true;
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return false;
  std::string all = ss.str();
  size_t pos = 0;
  while (pos < all.size()) {
    size_t nl = all.find('\n', pos);
    if (nl == std::string::npos) break;
    std::string_view line(all.data() + pos, nl - pos);
    if (line.substr(0, kTag.size()) != kTag) break;
    std::istringstream fields{std::string(line.substr(kTag.size()))};
    size_t size = 0;
    SinkRecord rec;
    if (!(fields >> size >> rec.hash)) break;
    std::string rcpt;
    while (fields >> rcpt) rec.rcpts.push_back(rcpt);
    size_t start = nl + 1;
    if (start + size + 1 > all.size() || all[start + size] != '\n') break;
    rec.copy = all.substr(start, size);
    out->push_back(std::move(rec));
    pos = start + size + 1;
  }
  return true;
}

size_t CountSinkRecords(const std::string& path) {
  std::vector<SinkRecord> records;
  ReadSinkLog(path, &records);
  return records.size();
}

}  // namespace aftershock
