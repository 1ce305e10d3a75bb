// Dynamic batching: requests for the same block range [begin, end) that
// arrive close together run as one forward pass, concatenated along the batch
// dimension, and each gets its own rows of the result back.
//
// Contract:
// - A batch holds at most `max_rows` rows (a request with more rows runs
//   alone). max_rows 1 turns batching off: each request is its own batch.
// - The request that opens a batch (its leader) waits up to `delay_s` for
//   others to fill it, then for a compute slot (Admission) until its start
//   deadline; the batch stays open to requests that fit while the leader
//   waits, and closes when the slot is taken. The leader runs the forward pass
//   for all its members, in arrival order.
// - Results are exactly what each request would get alone up to the
//   floating-point effects of a larger batch (served models run in eval mode:
//   no row depends on another; tests/serve/batcher_test.cc checks <= 1e-5).
// - A member whose start deadline passes before its batch closes leaves it
//   (kTimedOut); once the batch closed it waits for the forward pass, which
//   is bounded. A full admission queue (kQueueFull) or the leader's deadline
//   passing (kTimedOut) fails every member of that batch with the same status.
// - An exception thrown by `run` reaches every member of the batch.
//
// Thread safety: submit() is called from any number of threads at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "dec/serve/admission.h"

namespace dec::serve {

struct BatchOptions {
  int64_t max_rows = 1;  // rows per forward pass; 1 = no batching
  double delay_s = 0;    // the longest a batch's first request waits for others to join
};

class Batcher {
 public:
  using Clock = std::chrono::steady_clock;
  // Runs blocks [begin, end) on `rows` rows held in `in`; returns their output, rows x (its size / rows).
  using RunFn = std::function<std::vector<float>(const std::vector<float>& in, int64_t rows, size_t begin,
                                                 size_t end)>;

  // `admission` outlives the batcher. Throws ConfigError when max_rows < 1 or delay_s < 0.
  Batcher(BatchOptions options, Admission& admission, RunFn run);
  ~Batcher();

  struct Result {
    enum class Status { kDone, kQueueFull, kTimedOut } status = Status::kDone;
    std::vector<float> out;  // this request's rows of the output (kDone)
    double queue_s = 0;      // submit to the forward pass's start (or to the failure)
    double compute_s = 0;    // the batch's forward pass
    int64_t batch_rows = 0;  // rows in the forward pass this request was part of
    bool ran = false;        // this request ran the batch (count each forward pass once)
  };
  // `in` holds `rows` rows at boundary `begin`; `start_deadline` is the latest
  // time its forward pass may start. Rethrows what `run` threw.
  Result submit(const std::vector<float>& in, int64_t rows, size_t begin, size_t end,
                Clock::time_point start_deadline);

  const BatchOptions& options() const { return options_; }

 private:
  struct Member;
  struct Batch;
  Result lead(const std::shared_ptr<Batch>& b, Member& me, Clock::time_point t0, Clock::time_point deadline,
              std::unique_lock<std::mutex>& lock);
  void run_batch(Batch& b, const std::vector<Member*>& members);
  void close(const std::shared_ptr<Batch>& b);  // REQUIRES: mu_ held

  const BatchOptions options_;
  Admission& admission_;
  const RunFn run_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Batch>> open_;  // guarded by mu_: batches still taking members
};

}  // namespace dec::serve
