// The job's handshake (protocol.h): after the rendezvous, before the first
// iteration, every rank agrees on one plan.
//
//   1. every rank publishes its hello (node, tier, protocol and DEC versions,
//      model hash; in auto mode its own block profile);
//   2. every rank checks rank 0's protocol; rank 0 checks every rank's protocol,
//      DEC version and model hash, takes the plan (--plan, or solves it from the
//      published profiles and --cluster), and publishes it with its hash — or
//      publishes why it refuses, which every rank raises;
//   3. every rank confirms the plan's hash; rank 0 checks the confirmations.
//
// Failure: a disagreement is a Mismatch on every rank naming the rank that
// differs; a malformed message a Mismatch naming its sender; every wait has the
// job's deadline (Timeout).
#pragma once

#include <optional>
#include <string>

#include "dec/comm/rendezvous.h"
#include "dec/model/model.h"
#include "dec/planner/plan.h"
#include "dec/profile/profile.h"
#include "dec/runtime/exec_plan.h"
#include "dec/runtime/job.h"

namespace dec::runtime {

// How this node takes part: its compute speed and, in auto mode (no --plan),
// the micro-batch its profile is measured at.
struct NodeSetup {
  double speed = 1;
  int profile_micro_batch = 32;
  // Processes of one machine (emulation) profile one at a time, so they do not
  // slow each other: rank r waits for rank r-1's hello first.
  bool profile_in_turn = false;
};

struct Agreement {
  ExecPlan plan;            // what every rank runs
  std::string hash;         // plan_hash(plan), confirmed by every rank
  std::string summary;      // rank 0's summary of the plan
  planner::Plan full_plan;  // rank 0 only: the planner's plan (the metrics' plan event)
  // Auto mode: what this node published; emulated: the profile its tasks cost (TaskCosts).
  std::optional<profile::ModelProfile> own_profile;
};

// Runs the handshake on `job_store` (the rendezvous store under "job/").
// Collective over every rank of `rv`.
Agreement agree_on_plan(const JobOptions& options, const comm::Rendezvous& rv,
                        const comm::Store& job_store, const model::ModelSpec& spec,
                        const NodeSetup& node);

}  // namespace dec::runtime
