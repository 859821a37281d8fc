// Runs the target's recovery on one crash state: materialize it in a scratch
// directory, `recover`, then `deliver` until a round delivers nothing new,
// and collect every copy delivered (before the crash and after).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "harness/checker.h"
#include "harness/command_env.h"
#include "harness/mail_facts.h"
#include "harness/manifest.h"
#include "harness/model_adapter.h"
#include "harness/recorder.h"
#include "harness/scenario.h"
#include "harness/sink_log.h"

namespace aftershock {

// Everything fixed for one recording, shared (read-only) by the workers.
struct RecoveryPlan {
  const Scenario* scenario = nullptr;
  const Manifest* manifest = nullptr;
  const ToolPaths* tools = nullptr;
  const Recording* recording = nullptr;
  const MailFacts* facts = nullptr;
  // Copies the sink accepted while recording, by xxh64 hex.
  std::map<std::string, std::string> recorded_copies;
};

// Loads the recording's marks and sink log into *plan.
bool PreparePlan(RecoveryPlan* plan, MailFacts* facts, std::string* error);

// Materializes `state` into `scratch`/root (scratch must not exist or be
// empty), recovers and drains it, and fills the checker's input. Returns
// false only when the harness itself failed (*error); a failing target is a
// recovery_failure inside *input.
bool RecoverState(const RecoveryPlan& plan, const CrashStateRef& state, const std::string& scratch,
                  CheckInput* input, std::string* error);

}  // namespace aftershock
