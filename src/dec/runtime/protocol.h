// The job protocol: every key the ranks of a job exchange through the
// rendezvous store, in one place, with the protocol's version
// (docs/architecture.md, "Job protocol").
//
//   job/hello/<rank>              every rank    who it is (JSON, below); the one key
//                                               whose place no version may move
//   job/v<N>/plan/status          rank 0        "ok", or "error <why>" (handshake refused)
//   job/v<N>/plan/exec            rank 0        the ExecPlan every rank runs (JSON)
//   job/v<N>/plan/hash            rank 0        its hash
//   job/v<N>/plan/summary         rank 0        what `dec plan` prints of it
//   job/v<N>/ack/<rank>           rank > 0      read a refusal; rank 0 may leave
//   job/v<N>/confirm/<rank>       every rank    the plan hash it will run
//   job/v<N>/it/<step>/<rank>     rank > 0      what it measured in an iteration (JSON);
//                                               rank 0 deletes it once read
//   job/v<N>/ckpt/<step>/<rank>   every rank    the shards it sends the checkpoint
//                                               keeper: file names and sha256 (JSON)
//   job/v<N>/ckpt/<step>/saved    the keeper    the committed step directory, when the
//                                               keeper is not rank 0
//   job/v<N>/resume/state         the keeper    the checkpoint's position, or its error
//   job/v<N>/resume/held/<rank>   every rank    the blocks it holds under this plan
//   job/v<N>/done/<rank>          rank > 0      it has left; rank 0, which hosts the
//                                               store, leaves last
//
// A hello is {"protocol": N, "rank", "node", "tier", "version" (DEC's),
// "model", "model_hash", "speed", "profile" (auto mode)}. Every rank reads rank
// 0's hello and rank 0 reads every rank's before anything else: a rank that
// speaks another protocol is named in one error on both sides, instead of
// waiting for keys that the other never writes.
//
// Bump kJobProtocolVersion whenever a key, its meaning or its JSON changes.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>

#include "dec/core/error.h"

namespace dec::runtime {

// 2: no costs/<rank> (emulated ranks price their tasks from the profile).
// 3: checkpoints travel to a keeper (ckpt/<step>/saved, resume/state, resume/held/<rank>).
constexpr int kJobProtocolVersion = 3;

namespace keys {

inline std::string hello(int rank) { return str("hello/", rank); }

// The prefix under "job/" of every key below.
inline std::string versioned() { return str("v", kJobProtocolVersion); }

inline std::string plan_status() { return "plan/status"; }
inline std::string plan_exec() { return "plan/exec"; }
inline std::string plan_hash() { return "plan/hash"; }
inline std::string plan_summary() { return "plan/summary"; }
inline std::string ack(int rank) { return str("ack/", rank); }
inline std::string confirm(int rank) { return str("confirm/", rank); }
inline std::string iteration(int64_t step, int rank) { return str("it/", step, "/", rank); }
inline std::string checkpoint(int64_t step, int rank) { return str("ckpt/", step, "/", rank); }
inline std::string checkpoint_saved(int64_t step) { return str("ckpt/", step, "/saved"); }
inline std::string resume_state() { return "resume/state"; }
inline std::string resume_held(int rank) { return str("resume/held/", rank); }
inline std::string done(int rank) { return str("done/", rank); }

}  // namespace keys

// Reads a message a peer wrote: `read(json)` on the parsed value of `text`. A
// value that is not JSON, or lacks a field or has one of the wrong type, is a
// Mismatch naming the peer (`peer`: Rendezvous::describe) and the key, never a
// crash.
template <typename F>
auto read_peer_message(const std::string& text, const std::string& peer, const std::string& key,
                       F&& read) -> decltype(read(std::declval<const nlohmann::json&>())) {
  try {
    return read(nlohmann::json::parse(text));
  } catch (const nlohmann::json::exception& e) {
    throw Mismatch("malformed message from a peer", peer, str("store key '", key, "': ", e.what()));
  }
}

}  // namespace dec::runtime
