// Gradient synchronisation of replica groups, overlapped with backward.
//
// Each replica group's blocks (held by the same set of ranks) are grouped into
// buckets, highest blocks first (they finish backward first), as DDP packs
// parameters: a bucket takes blocks until it holds at least `first_bucket_bytes`
// (the first) or `bucket_bytes` (the others). A small first bucket starts the
// all-reduce early in backward. The executor calls ready(block) once this
// rank's last backward that touches the block has produced its gradient
// (grad_ready.h: during that backward); a bucket whose blocks are all ready is
// all-reduced (sum) on its sub-group by that group's own thread while backward
// goes on, as one collective over the bucket's gradients (comm::Group::
// allreduce_sum_coalesced: with two members summed in place, with more through
// one flat buffer). wait() blocks until every bucket of the iteration is reduced
// into the parameters' .grad.
//
// Collective order: a group's thread reduces its buckets strictly in bucket
// order (fixed by the plan), whatever order they become ready in, so every
// member issues the same sequence of all-reduces and Gloo's in-order matching
// holds even when members mark blocks ready in different orders (one rank's
// hooks fire top block first, an emulated rank marks a whole stage at once).
// wait() reduces a ready bucket itself when the group's thread is not busy with
// an earlier one (the last buckets, ready at the end of backward): the same
// order, one reduction per group at a time, one thread wake-up fewer.
// Failure: the first exception of a reduction is rethrown by wait().
// Thread safety: ready/wait from the executor's thread only.
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "dec/comm/group.h"
#include "dec/runtime/trace.h"

namespace dec::runtime {

class GradSync {
 public:
  struct GroupBlocks {
    comm::Group* group;  // sub-group of the replica group (not owned; size > 1)
    // Block index -> its parameters, for every block the group holds.
    std::vector<std::pair<size_t, std::vector<torch::Tensor>>> blocks;
  };

  // `tracer` (optional, must outlive this) receives an "allreduce" span per bucket.
  explicit GradSync(std::vector<GroupBlocks> groups, double bucket_bytes = 25.0 * (1 << 20),
                    double first_bucket_bytes = 1.0 * (1 << 20), Tracer* tracer = nullptr);
  ~GradSync();
  GradSync(const GradSync&) = delete;
  GradSync& operator=(const GradSync&) = delete;

  // Marks `block`'s gradient final for this iteration; launches full buckets.
  // Blocks this rank does not share with a replica are ignored.
  void ready(size_t block);
  // Waits for every bucket; resets readiness for the next iteration.
  void wait();
  // Buckets per group and their bytes, for logs.
  size_t num_buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    size_t lane;                       // index into lanes_
    std::vector<size_t> blocks;
    std::vector<torch::Tensor> params;
    size_t pending = 0;                // GUARDED_BY(mu_): blocks not yet ready this iteration
  };
  struct Lane {
    comm::Group* group;
    std::vector<size_t> buckets;  // this group's bucket indices, in reduction order
    size_t next = 0;              // GUARDED_BY(mu_): position of the next bucket to reduce
    bool busy = false;            // GUARDED_BY(mu_): a thread is reducing one of its buckets
    std::thread thread;
  };
  // The lane's next bucket is ready and no thread is reducing one of its own.
  bool claimable(const Lane& lane) const;  // REQUIRES(mu_)
  // Reduces the lane's next bucket on the calling thread, `lock` released meanwhile.
  void reduce_next(size_t lane, std::unique_lock<std::mutex>& lock);  // REQUIRES(mu_)
  void run(size_t lane);
  void reduce(Bucket& b, comm::Group& g);

  std::vector<Bucket> buckets_;
  std::map<size_t, std::vector<size_t>> buckets_of_block_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t outstanding_ = 0;      // GUARDED_BY(mu_): launched, not finished
  std::exception_ptr error_;    // GUARDED_BY(mu_)
  bool stopping_ = false;       // GUARDED_BY(mu_)
  Tracer* tracer_;
};

}  // namespace dec::runtime
