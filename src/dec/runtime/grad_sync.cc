#include "dec/runtime/grad_sync.h"

#include <algorithm>

#include "dec/core/error.h"

namespace dec::runtime {

GradSync::GradSync(std::vector<GroupBlocks> groups, double bucket_bytes, double first_bucket_bytes,
                   Tracer* tracer)
    : tracer_(tracer) {
  for (auto& g : groups) {
    DEC_ASSERT(g.group != nullptr && g.group->size() > 1);
    auto lane = std::make_unique<Lane>();
    lane->group = g.group;
    const size_t lane_index = lanes_.size();
    // Highest blocks first: backward reaches them first.
    std::sort(g.blocks.begin(), g.blocks.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    Bucket current{lane_index, {}, {}, 0};
    double bytes = 0;
    auto close = [&] {
      if (current.blocks.empty()) return;
      for (size_t l : current.blocks) buckets_of_block_[l].push_back(buckets_.size());
      lane->buckets.push_back(buckets_.size());
      buckets_.push_back(std::move(current));
      current = Bucket{lane_index, {}, {}, 0};
      bytes = 0;
    };
    double cap = first_bucket_bytes;
    for (auto& [block, params] : g.blocks) {
      for (const auto& p : params) {
        current.params.push_back(p);
        bytes += p.numel() * p.element_size();
      }
      current.blocks.push_back(block);
      if (bytes >= cap) {
        close();
        cap = bucket_bytes;
      }
    }
    close();
    lanes_.push_back(std::move(lane));
  }
  for (auto& b : buckets_) b.pending = b.blocks.size();
  for (size_t i = 0; i < lanes_.size(); ++i) lanes_[i]->thread = std::thread([this, i] { run(i); });
}

GradSync::~GradSync() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& lane : lanes_) {
    if (lane->thread.joinable()) lane->thread.join();
  }
}

void GradSync::ready(size_t block) {
  auto it = buckets_of_block_.find(block);
  if (it == buckets_of_block_.end()) return;  // not replicated: nothing to reduce
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t b : it->second) {
    Bucket& bucket = buckets_[b];
    DEC_ASSERT(bucket.pending > 0, "block ", block, " marked ready twice");
    if (--bucket.pending == 0) ++outstanding_;
  }
  cv_.notify_all();
}

void GradSync::wait() {
  std::unique_lock<std::mutex> lock(mu_);
  for (const auto& b : buckets_) {
    DEC_ASSERT(b.pending == 0, "a bucket was never launched (block ", b.blocks.front(), ")");
  }
  // The last buckets become ready at the end of backward, just before this
  // thread comes here with nothing else to do: it reduces them itself rather
  // than wake a lane's thread and wait for the scheduler to run it on cores
  // that every rank's compute keeps busy.
  while (!error_) {
    size_t lane = 0;
    while (lane < lanes_.size() && !claimable(*lanes_[lane])) ++lane;
    if (lane < lanes_.size()) reduce_next(lane, lock);
    else if (outstanding_ == 0) break;
    else cv_.wait(lock);
  }
  if (error_) std::rethrow_exception(error_);
  for (auto& b : buckets_) b.pending = b.blocks.size();
  for (auto& lane : lanes_) lane->next = 0;
}

void GradSync::reduce(Bucket& b, comm::Group& g) {
  torch::NoGradGuard no_grad;
  // Each gradient is summed where it lies, seen as the run of memory it
  // occupies: laid out as its parameter (autograd's layout contract, which
  // FusedAdam relies on too), hence alike on every replica. A parameter without
  // a gradient contributes zeros.
  std::vector<torch::Tensor> runs;
  runs.reserve(b.params.size());
  for (auto& p : b.params) {
    torch::Tensor& grad = p.mutable_grad();
    if (!grad.defined()) {
      grad = torch::zeros_like(p);
    } else if (!grad.is_non_overlapping_and_dense() || grad.strides() != p.strides()) {
      torch::Tensor dense = torch::empty_like(p);
      dense.copy_(grad);
      grad = dense;
    }
    runs.push_back(grad.as_strided({grad.numel()}, {1}, grad.storage_offset()));
  }
  g.allreduce_sum_coalesced(runs);
}

bool GradSync::claimable(const Lane& lane) const {
  return !lane.busy && lane.next < lane.buckets.size() &&
         buckets_[lane.buckets[lane.next]].pending == 0;
}

void GradSync::reduce_next(size_t lane_index, std::unique_lock<std::mutex>& lock) {
  Lane& lane = *lanes_[lane_index];
  const size_t b = lane.buckets[lane.next++];
  lane.busy = true;
  const bool failed_before = error_ != nullptr;
  lock.unlock();
  std::exception_ptr failure;
  if (!failed_before) {
    try {
      const auto t0 = Tracer::Clock::now();
      reduce(buckets_[b], *lane.group);
      if (tracer_) tracer_->add("allreduce", t0, Tracer::Clock::now(), str("bucket ", b));
    } catch (...) {
      failure = std::current_exception();
    }
  }
  lock.lock();
  lane.busy = false;
  if (failure && !error_) error_ = failure;
  --outstanding_;
  cv_.notify_all();
}

void GradSync::run(size_t lane_index) {
  Lane& lane = *lanes_[lane_index];
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || claimable(lane); });
    if (stopping_) return;
    reduce_next(lane_index, lock);
  }
}

}  // namespace dec::runtime
