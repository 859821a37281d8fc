// Workloads for `aftershock fuzz`: RapidCheck generators of small step lists
// (messages to subsets of recipients across queues, body sizes at the
// boundaries that matter, deliveries, clock ticks, restarts) and their
// translation into scenario steps. Shrinking removes steps, drops
// recipients and moves body sizes and ticks toward the first of their lists.
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <string>
#include <vector>

#include "harness/scenario.h"

namespace aftershock {

// What a generated workload may contain.
struct WorkloadSpace {
  // Recipients; an enqueue sends to a non-empty subset of them.
  std::vector<std::string> rcpts = {"alice@local", "bob@remote", "carol@local", "dave@remote"};
  // Around 0, 1 and the 512-byte and 4 KiB sector boundaries; smaller first.
  std::vector<uint64_t> body_sizes = {0, 1, 511, 512, 513, 4095, 4096, 4097};
  // Around the reference queue's stale age (3600 s) and a day; shortest first.
  std::vector<int64_t> tick_seconds = {60, 3599, 3601, 7200, 86400};
  int max_steps = 6;
};

// Recipients: "local,remote" -> alice@local, bob@remote, carol@local, ...
// (two users per domain, the domains interleaved). REQUIRES: a domain list.
std::vector<std::string> RcptsForDomains(const std::vector<std::string>& domains);

// One generated step: indices into the WorkloadSpace's lists.
struct GenStep {
  StepKind kind = StepKind::kDeliver;
  uint32_t rcpt_mask = 1;   // enqueue: bit i = rcpts[i]
  uint32_t size_index = 0;  // enqueue
  uint32_t tick_index = 0;  // tick
};
using GenWorkload = std::vector<GenStep>;

// Workloads of 1..max_steps steps with at least one enqueue. Independent of
// RapidCheck's size, so the first cases are as rich as the last.
// REQUIRES: 1 <= space.rcpts.size() <= 16, non-empty lists, max_steps >= 1.
rc::Gen<GenWorkload> GenWorkloads(const WorkloadSpace& space);

// The scenario steps of `w`: messages m1, m2, ... in order.
std::vector<Step> ToSteps(const GenWorkload& w, const WorkloadSpace& space);

// "enqueue m1 -> alice@local bob@remote (513 B); deliver; tick 3601"
std::string DescribeSteps(const std::vector<Step>& steps);

}  // namespace aftershock
