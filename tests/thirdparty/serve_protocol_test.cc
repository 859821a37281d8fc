// The daemon-mode request grammar, on strings (docs/daemon-mode.md).
#include "targets/sqlite/serve_protocol.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace aftershock::sqlite_queue {
namespace {

TEST(ServeProtocol, WellFormedRequestIsParsed) {
  ParsedLine p = ParseRequestLine("enqueue m17 alice@local bob@remote 1234");
  ASSERT_TRUE(p.request) << p.error;
  EXPECT_EQ(p.request->id, "m17");
  EXPECT_EQ(p.request->rcpts, (std::vector<std::string>{"alice@local", "bob@remote"}));
  EXPECT_EQ(p.request->size, 1234u);
  EXPECT_EQ(p.bytes_to_skip, 0u);
}

TEST(ServeProtocol, TrailingCarriageReturnIsIgnored) {
  ParsedLine p = ParseRequestLine("enqueue m1 a@local 0\r");
  ASSERT_TRUE(p.request) << p.error;
  EXPECT_EQ(p.request->size, 0u);
}

struct MalformedCase {
  const char* line;
  const char* reply_id;
  size_t bytes_to_skip;
};

class MalformedRequest : public testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedRequest, IsAnErrorThatKeepsTheStreamInStep) {
  ParsedLine p = ParseRequestLine(GetParam().line);
  EXPECT_FALSE(p.request);
  EXPECT_FALSE(p.error.empty());
  EXPECT_EQ(p.reply_id, GetParam().reply_id);
  EXPECT_EQ(p.bytes_to_skip, GetParam().bytes_to_skip);
}

INSTANTIATE_TEST_SUITE_P(
    Lines, MalformedRequest,
    testing::Values(MalformedCase{"", "-", 0}, MalformedCase{"   ", "-", 0},
                    MalformedCase{"hello", "-", 0}, MalformedCase{"dequeue m1 a@b 5", "-", 0},
                    MalformedCase{"enqueue m1 5", "m1", 5},
                    MalformedCase{"enqueue m1 a@local", "m1", 0},
                    MalformedCase{"enqueue m1 a@local five", "m1", 0},
                    MalformedCase{"enqueue m1 a@local -5", "m1", 0},
                    MalformedCase{"enqueue m/1 a@local 5", "-", 5},
                    MalformedCase{"enqueue m1 nobody 7", "m1", 7},
                    MalformedCase{"enqueue m1 a@local 99999999999999999999", "m1", 0},
                    MalformedCase{"enqueue m1 a@local 67108865", "m1", 67108865}));

TEST(ServeProtocol, ErrLineIsOneLineWhateverTheReason) {
  EXPECT_EQ(ErrLine("m1", "disk\nfull\r"), "err m1 disk full \n");
  EXPECT_EQ(ErrLine("-", ""), "err - failed\n");
  EXPECT_EQ(OkLine("m9"), "ok m9\n");
}

RC_GTEST_PROP(ServeProtocol, FormattedRequestParsesBack, ()) {
  const std::string id_chars = "abcXYZ0129._-";
  auto id = *rc::gen::container<std::string>(rc::gen::elementOf(id_chars)).as("id");
  RC_PRE(!id.empty() && id.size() <= 255);
  auto users = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(rc::gen::nonEmpty(
      rc::gen::container<std::string>(rc::gen::elementOf(std::string("abz09.+_"))))));
  std::vector<std::string> rcpts;
  for (const auto& u : users) rcpts.push_back(u + "@local");
  size_t size = *rc::gen::inRange<size_t>(0, kMaxMessageBytes + 1);
  std::string line = "enqueue " + id;
  for (const auto& r : rcpts) line += " " + r;
  line += " " + std::to_string(size);
  ParsedLine p = ParseRequestLine(line);
  RC_ASSERT(p.request.has_value());
  RC_ASSERT(p.request->id == id);
  RC_ASSERT(p.request->rcpts == rcpts);
  RC_ASSERT(p.request->size == size);
}

RC_GTEST_PROP(ServeProtocol, AnyLineIsEitherARequestOrAnError, (const std::string& line)) {
  ParsedLine p = ParseRequestLine(line);
  RC_ASSERT(p.request.has_value() == p.error.empty());
  RC_ASSERT(p.reply_id == "-" || IsValidId(p.reply_id));
  std::string answer = p.request ? OkLine(p.request->id) : ErrLine(p.reply_id, p.error);
  RC_ASSERT(answer.find('\n') == answer.size() - 1);
}

}  // namespace
}  // namespace aftershock::sqlite_queue
