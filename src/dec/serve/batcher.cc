#include "dec/serve/batcher.h"

#include <algorithm>
#include <exception>

#include "dec/core/error.h"

namespace dec::serve {

struct Batcher::Member {
  const std::vector<float>* in = nullptr;
  int64_t rows = 0;
  Result result;
  std::exception_ptr error;
};

struct Batcher::Batch {
  size_t begin = 0, end = 0;
  int64_t rows = 0;
  std::vector<Member*> members;  // guarded by the batcher's mu_ until closed
  bool closed = false, done = false;
  Result::Status status = Result::Status::kDone;  // of a batch that never ran
  Clock::time_point start;
};

namespace {

double seconds(Batcher::Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Batcher::Batcher(BatchOptions options, Admission& admission, RunFn run)
    : options_(options), admission_(admission), run_(std::move(run)) {
  DEC_CHECK(options_.max_rows >= 1, ConfigError, "invalid option", "--max-batch", "must be >= 1, got ",
            options_.max_rows);
  DEC_CHECK(options_.delay_s >= 0, ConfigError, "invalid option", "--batch-delay-ms", "must be >= 0, got ",
            options_.delay_s * 1e3);
}

Batcher::~Batcher() = default;

void Batcher::close(const std::shared_ptr<Batch>& b) {
  b->closed = true;
  open_.erase(std::remove(open_.begin(), open_.end(), b), open_.end());
}

Batcher::Result Batcher::submit(const std::vector<float>& in, int64_t rows, size_t begin, size_t end,
                                Clock::time_point start_deadline) {
  const Clock::time_point t0 = Clock::now();
  Member me;
  me.in = &in;
  me.rows = rows;
  std::unique_lock<std::mutex> lock(mu_);
  std::shared_ptr<Batch> b;
  for (const auto& o : open_) {
    if (o->begin == begin && o->end == end && o->rows + rows <= options_.max_rows) {
      b = o;
      break;
    }
  }
  if (!b) {
    b = std::make_shared<Batch>();
    b->begin = begin;
    b->end = end;
    b->rows = rows;
    b->members.push_back(&me);
    if (rows < options_.max_rows) open_.push_back(b);  // else full at once: nobody can join
    return lead(b, me, t0, start_deadline, lock);
  }
  b->members.push_back(&me);
  b->rows += rows;
  if (b->rows >= options_.max_rows) {
    open_.erase(std::remove(open_.begin(), open_.end(), b), open_.end());  // full: the leader need not wait
    cv_.notify_all();
  }
  if (!cv_.wait_until(lock, start_deadline, [&] { return b->closed; })) {
    // Still open: leave it, the leader runs the others.
    b->members.erase(std::remove(b->members.begin(), b->members.end(), &me), b->members.end());
    b->rows -= rows;
    me.result.status = Result::Status::kTimedOut;
    me.result.queue_s = seconds(Clock::now() - t0);
    return me.result;
  }
  cv_.wait(lock, [&] { return b->done; });
  if (me.error) std::rethrow_exception(me.error);
  me.result.queue_s = b->status == Result::Status::kDone ? seconds(b->start - t0) : seconds(Clock::now() - t0);
  return std::move(me.result);
}

Batcher::Result Batcher::lead(const std::shared_ptr<Batch>& b, Member& me, Clock::time_point t0,
                              Clock::time_point deadline, std::unique_lock<std::mutex>& lock) {
  if (options_.max_rows > 1 && options_.delay_s > 0) {
    const auto fill_by = std::min(deadline, t0 + std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(options_.delay_s)));
    cv_.wait_until(lock, fill_by, [&] { return b->rows >= options_.max_rows; });
  }
  lock.unlock();
  const auto left = deadline - Clock::now();
  const Admission::Result admitted = left > Clock::duration::zero()
                                         ? admission_.acquire(left)
                                         : Admission::Result::kTimedOut;
  lock.lock();
  close(b);
  const std::vector<Member*> members = b->members;
  if (admitted != Admission::Result::kAdmitted) {
    b->status = admitted == Admission::Result::kQueueFull ? Result::Status::kQueueFull
                                                          : Result::Status::kTimedOut;
    for (Member* m : members) m->result.status = b->status;
    b->done = true;
    cv_.notify_all();
    me.result.queue_s = seconds(Clock::now() - t0);
    return me.result;
  }
  b->start = Clock::now();
  cv_.notify_all();  // members waiting for the close now wait for the result
  lock.unlock();
  struct Release {
    Admission& a;
    ~Release() { a.release(); }
  };
  {
    Release release{admission_};
    run_batch(*b, members);
  }
  lock.lock();
  b->done = true;
  cv_.notify_all();
  if (me.error) std::rethrow_exception(me.error);
  me.result.queue_s = seconds(b->start - t0);
  me.result.ran = true;
  return std::move(me.result);
}

void Batcher::run_batch(Batch& b, const std::vector<Member*>& members) {
  const Clock::time_point tc = Clock::now();
  try {
    std::vector<float> out;
    int64_t rows = 0;
    if (members.size() == 1) {
      rows = members[0]->rows;
      out = run_(*members[0]->in, rows, b.begin, b.end);
    } else {
      std::vector<float> in;
      size_t total = 0;
      for (const Member* m : members) total += m->in->size();
      in.reserve(total);
      for (const Member* m : members) {
        in.insert(in.end(), m->in->begin(), m->in->end());
        rows += m->rows;
      }
      out = run_(in, rows, b.begin, b.end);
    }
    DEC_ASSERT(rows > 0 && out.size() % static_cast<size_t>(rows) == 0, "a forward pass of ", rows,
               " rows gave ", out.size(), " values");
    const size_t per_row = out.size() / static_cast<size_t>(rows);
    const double compute_s = seconds(Clock::now() - tc);
    size_t at = 0;
    for (Member* m : members) {
      const size_t n = per_row * static_cast<size_t>(m->rows);
      if (members.size() == 1) {
        m->result.out = std::move(out);
      } else {
        m->result.out.assign(out.begin() + static_cast<std::ptrdiff_t>(at),
                             out.begin() + static_cast<std::ptrdiff_t>(at + n));
      }
      at += n;
      m->result.compute_s = compute_s;
      m->result.batch_rows = rows;
    }
  } catch (...) {
    for (Member* m : members) m->error = std::current_exception();
  }
}

}  // namespace dec::serve
