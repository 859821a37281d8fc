// The explorer: every crash state of one recording under one model, walked
// by the pipeline (pipeline.h), tallied into a ModelResult: verdict counts,
// violation groups with an example state each, and their evidence.
#pragma once

#include <string>

#include "harness/explore/pipeline.h"
#include "reports/report.h"

namespace aftershock {

struct ExploreRequest {
  WalkRequest walk;
  std::string reproduce_prefix;  // "aftershock replay R --scenario S --model M"
};

// Explores and checks; fills everything of *out but `passed` and
// `expectation_failures`. An error when the harness failed.
Status Explore(const PipelineContext& ctx, const ExploreRequest& request, VerdictCache* cache,
               ModelResult* out);

// Adds the result of another recording of the same scenario under the same
// model (an interleaving) to *into: counts, groups, the duplicate rate.
void MergeModelResult(const ModelResult& part, ModelResult* into);

// Applies the scenario's expectations to one model's result.
void Judge(const Scenario& scenario, ModelResult* result);

}  // namespace aftershock
