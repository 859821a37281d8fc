#include "model/mail_spec.h"

#include <gtest/gtest.h>

#include "model/trace_builder.h"

namespace aftershock {
namespace {

MailSpec Spec(const std::vector<Op>& ops) {
  VectorOpSource source(&ops);
  Status st;
  auto spec = MailSpec::FromSource(&source, &st);
  EXPECT_TRUE(st.ok()) << st.message();
  return spec.value_or(MailSpec());
}

TEST(MailSpec, APairMustBeDeliveredOnlyAfterItsAckMark) {
  TraceBuilder t;
  t.Mark("step", "enqueue m1");          // 2
  int fd = t.Create("q");                // 3
  t.Write(fd, "x");                      // 4
  t.Mark("ack", "m1 a@local b@remote");  // 5
  t.Mark("step", "enqueue m2");          // 6
  MailSpec spec = Spec(t.ops());
  EXPECT_TRUE(spec.MustDeliver(4).empty());
  EXPECT_EQ(spec.MustDeliver(5), (std::vector<MailPair>{{"m1", "a@local"}, {"m1", "b@remote"}}));
  EXPECT_EQ(spec.Submitted(5), std::vector<std::string>{"m1"});
  EXPECT_EQ(spec.Submitted(6), (std::vector<std::string>{"m1", "m2"}));
}

TEST(MailSpec, SinkDeliveriesBeforeTheCrashCountAsDelivered) {
  TraceBuilder t;
  t.Mark("ack", "m1 a@local");                        // 2
  t.Mark("sink", "m1 a@local 0123456789abcdef");      // 3
  t.Mark("sink", "m1 a@local b@x 0123456789abcdef");  // 4
  MailSpec spec = Spec(t.ops());
  EXPECT_TRUE(spec.DeliveredBefore(2).empty());
  auto d = spec.DeliveredBefore(3);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].message, "m1");
  EXPECT_EQ(d[0].recipients, std::vector<std::string>{"a@local"});
  EXPECT_EQ(d[0].content_hash, "0123456789abcdef");
  EXPECT_EQ(spec.DeliveredBefore(99).back().recipients,
            (std::vector<std::string>{"a@local", "b@x"}));
}

TEST(MailSpec, TicksAndStepsAreKnownAtEachCrashPoint) {
  TraceBuilder t;
  t.Mark("step", "enqueue m1");  // 2
  t.Mark("step", "tick 3600");   // 3
  t.Mark("step", "deliver");     // 4
  t.Mark("step", "tick 60");     // 5
  MailSpec spec = Spec(t.ops());
  EXPECT_EQ(spec.TicksBefore(2), 0);
  EXPECT_EQ(spec.TicksBefore(4), 3600);
  EXPECT_EQ(spec.TicksBefore(5), 3660);
  EXPECT_EQ(spec.StepAt(1), "before the workload");
  EXPECT_EQ(spec.StepAt(4), "step 3 (deliver)");
}

TEST(MailSpec, AMalformedMarkIsAnErrorNamingIt) {
  TraceBuilder t;
  t.Mark("sink", "m1 a@local");  // no hash
  VectorOpSource source(&t.ops());
  Status st;
  EXPECT_FALSE(MailSpec::FromSource(&source, &st).has_value());
  EXPECT_NE(st.message().find("mark sink (seq 2)"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace aftershock
