// Call stacks: the recorder finds the callers of a call, with frame
// pointers and without, and a finding blames the innermost caller that is
// not a thin wrapper (harness/explore/culprit_frame.h).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "harness/explore/culprit_frame.h"
#include "reports/symbolize.h"
#include "tests/injector/test_support.h"

namespace aftershock::testing {
namespace {

const Op* WriteOf(const Trace& t, const std::string& data) {
  for (const Op& op : t.ops) {
    if (op.kind == OpKind::kWrite && op.data == data) return &op;
  }
  return nullptr;
}

// The functions of op's stack, innermost first.
std::vector<std::string> Functions(const Op& op, Symbolizer* sym) {
  std::vector<std::string> out = {sym->Lookup(op.module, op.call_offset).function};
  for (const StackFrame& f : op.callers) out.push_back(sym->Lookup(f.module, f.offset).function);
  return out;
}

void ExpectDeepStack(const std::string& prog, uint8_t method) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {Prog(prog)});
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe() << run.result.output;
  ASSERT_TRUE(run.trace_ok) << run.trace_error;
  const Op* w = WriteOf(run.trace, "deep\n");
  ASSERT_NE(w, nullptr);
  Symbolizer sym;
  std::vector<std::string> fns = Functions(*w, &sym);
  ASSERT_GE(fns.size(), 4u) << prog;
  EXPECT_EQ(fns[0], "stack_write_helper");
  EXPECT_EQ(fns[1], "stack_level_two");
  EXPECT_EQ(fns[2], "stack_level_one");
  EXPECT_EQ(fns[3], "main");
  EXPECT_EQ(w->stack_method, method) << prog;
  // The same frames at the same addresses, reached through different
  // callers: each write names its own.
  for (const auto& [data, caller] :
       {std::pair{"twin a 1\n", "stack_twin_a"}, std::pair{"twin b\n", "stack_twin_b"},
        std::pair{"twin a 2\n", "stack_twin_a"}}) {
    const Op* t = WriteOf(run.trace, data);
    ASSERT_NE(t, nullptr) << data;
    std::vector<std::string> twin = Functions(*t, &sym);
    ASSERT_GE(twin.size(), 3u) << prog << " " << data;
    EXPECT_EQ(twin[0], "stack_write_helper") << data;
    EXPECT_EQ(twin[1], caller) << prog << " " << data;
    EXPECT_EQ(twin[2], "Twins") << prog << " " << data;
  }
  EXPECT_LE(w->callers.size(), static_cast<size_t>(trace::kMaxCallers));
  // The stack survives the trace format: written again, read back equal.
  ScratchDir again;
  TraceWriter writer(again.path() + "/t");
  ASSERT_TRUE(writer.Append(*w));
  TraceError err;
  auto t = ReadTrace(again.path() + "/t", &err);
  ASSERT_TRUE(t) << err.message;
  ASSERT_EQ(t->ops.size(), 1u);
  EXPECT_EQ(t->ops[0].callers, w->callers);
  EXPECT_EQ(t->ops[0].stack_method, w->stack_method);
}

TEST(Stack, FramePointersGiveTheCallers) {
  ExpectDeepStack("inj_stack_fp", trace::kStackFramePointers);
}

TEST(Stack, WithoutFramePointersTheScanGivesTheCallers) {
  ExpectDeepStack("inj_stack_nofp", trace::kStackScan);
}

TEST(Stack, AFindingBlamesTheCallerOfAHelperThatOnlyWrites) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {Prog("inj_stack_nofp")});
  ASSERT_TRUE(run.trace_ok) << run.trace_error;
  const Op* w = WriteOf(run.trace, "deep\n");
  ASSERT_NE(w, nullptr);
  Symbolizer sym;
  CulpritFrames frames(run.trace.ops, &sym);
  std::vector<StackEntry> stack = frames.StackOf(*w);
  ASSERT_GE(stack.size(), 4u);
  EXPECT_TRUE(stack[0].wrapper);   // stack_write_helper: only writes
  EXPECT_FALSE(stack[1].wrapper);  // stack_level_two: creates, writes, removes
  size_t blamed = CulpritFrames::Blamed(stack);
  EXPECT_EQ(blamed, 1u);
  EXPECT_EQ(stack[blamed].ShortFunction(), "stack_level_two");
  EXPECT_TRUE(stack[blamed].HasSource());
  EXPECT_NE(stack[blamed].file.find("stack.c"), std::string::npos);
  // The unlink's helper only removes: blamed on the same caller.
  for (const Op& op : run.trace.ops) {
    if (op.kind != OpKind::kUnlink) continue;
    std::vector<StackEntry> s = frames.StackOf(op);
    ASSERT_GE(s.size(), 2u);
    EXPECT_EQ(s[CulpritFrames::Blamed(s)].ShortFunction(), "stack_level_two");
  }
}

TEST(Stack, AnUnloadedLibraryIsNotReadAgain) {
  // Each round loads the library, writes from it, unloads it, and writes
  // from main over a stack that may still hold return addresses into it.
  ScratchDir scratch;
  std::string lib = std::string(std::getenv("AFTERSHOCK_TEST_PROGS")) + "/libinj_dlclose_lib.so";
  RecordedRun run = RecordIn(scratch, {Prog("inj_dlclose"), lib});
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe() << run.result.output;
  ASSERT_TRUE(run.trace_ok) << run.trace_error;
  int from_lib = 0, from_main = 0;
  for (const Op& op : run.trace.ops) {
    if (op.kind != OpKind::kWrite) continue;
    if (op.data == "from the library\n") {
      ++from_lib;
      EXPECT_EQ(op.module, lib);
      ASSERT_FALSE(op.callers.empty());
      EXPECT_EQ(op.callers[0].module, Prog("inj_dlclose"));
    }
    if (op.data == "from main\n") {
      ++from_main;
      EXPECT_EQ(op.module, Prog("inj_dlclose"));
      for (const StackFrame& f : op.callers) EXPECT_NE(f.module, lib);
    }
  }
  EXPECT_EQ(from_lib, 3);
  EXPECT_EQ(from_main, 3);
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
}

TEST(Stack, AMalformedStackPartIsAnErrorNamingItsRecord) {
  Op op;
  op.kind = OpKind::kWrite;
  op.seq = 7;
  op.module = "/bin/q";
  op.call_offset = 0x10;
  op.callers = {{"/bin/q", 0x20}, {"/lib/other.so", 0x30}};
  op.stack_method = trace::kStackScan;
  std::string rec = EncodeRecord(op);
  trace::RecordHeader h;
  std::memcpy(&h, rec.data(), sizeof h);
  ASSERT_GT(h.stack_len, 0u);
  rec[rec.size() - h.stack_len] = 9;  // more frames than a stack part may hold
  h.checksum = 0;
  std::memcpy(rec.data(), &h, sizeof h);
  h.checksum = XXH32(rec.data(), rec.size(), 0);  // intact, but wrong inside
  std::memcpy(rec.data(), &h, sizeof h);
  ScratchDir dir;
  {
    TraceWriter writer(dir.path() + "/t");  // writes the file header
    ASSERT_TRUE(writer.AppendEncoded(rec));
  }
  TraceError err;
  EXPECT_FALSE(ReadTrace(dir.path() + "/t", &err));
  EXPECT_NE(err.message.find("byte 32: malformed stack part (seq 7)"), std::string::npos)
      << err.message;
}

}  // namespace
}  // namespace aftershock::testing
