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

#include "harness/target/scenario.h"

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
  // One enqueue in this many gets a step run beside it (a restart or a
  // delivery, equally often; only the workload's first is kept); 0: never
  // (daemon-mode targets cannot run one).
  uint32_t beside_one_in = 8;
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
  // enqueue: a value in 0..2*beside_one_in-1; the last two mean a restart
  // and a delivery beside it, every other none. Shrinking moves it toward
  // 0, so it removes the beside step.
  uint32_t beside = 0;
};
using GenWorkload = std::vector<GenStep>;

// Workloads of 1..max_steps steps with at least one enqueue. Independent of
// RapidCheck's size, so the first cases are as rich as the last.
// REQUIRES: 1 <= space.rcpts.size() <= 16, non-empty lists, max_steps >= 1.
rc::Gen<GenWorkload> GenWorkloads(const WorkloadSpace& space);

// The kind of `g`'s beside step. Returns false when it has none.
bool GenBesideKind(const GenStep& g, const WorkloadSpace& space, StepKind* kind);

// The scenario steps of `w`: messages m1, m2, ... in order; the first
// enqueue with a beside step keeps it, later ones lose theirs (every
// beside step multiplies the recordings a case costs).
std::vector<Step> ToSteps(const GenWorkload& w, const WorkloadSpace& space);

// "enqueue m1 -> alice@local bob@remote (513 B); deliver; tick 3601";
// "enqueue m1 -> alice@local (0 B) [restart beside]"
std::string DescribeSteps(const std::vector<Step>& steps);

}  // namespace aftershock
