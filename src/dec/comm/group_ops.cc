// Using groups: point-to-point and collective operations with deadlines,
// emulated links and counters.
#include <ATen/ATen.h>

#include "dec/comm/engine_error.h"
#include "dec/comm/group.h"
#include "dec/comm/group_state.h"
#include "dec/comm/tensor_header.h"
#include "dec/core/error.h"

namespace dec::comm {

template <typename Where, typename Op>
void Group::State::guarded(const char* what, Where&& where, Op&& op) {
  throw_if_failed();
  try {
    op();
  } catch (const dec::Error&) {
    throw;
  } catch (...) {
    const auto engine = std::current_exception();
    try {
      detail::rethrow_as_dec(engine, what, where(),
                             dec::str("deadline ", world->options.timeout.count(), " ms"));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!failure) failure = std::current_exception();
      throw;
    }
  }
}

namespace {

struct DtypeMap {
  at::ScalarType torch;
  WireDtype wire;
};
constexpr DtypeMap kDtypes[] = {
    {at::kFloat, WireDtype::kFloat32}, {at::kDouble, WireDtype::kFloat64},
    {at::kHalf, WireDtype::kFloat16},  {at::kBFloat16, WireDtype::kBFloat16},
    {at::kChar, WireDtype::kInt8},     {at::kByte, WireDtype::kUInt8},
    {at::kShort, WireDtype::kInt16},   {at::kInt, WireDtype::kInt32},
    {at::kLong, WireDtype::kInt64},    {at::kBool, WireDtype::kBool},
};

WireDtype to_wire(at::ScalarType t, const WhereFn& where) {
  for (const auto& d : kDtypes)
    if (d.torch == t) return d.wire;
  throw ConfigError("cannot send tensor", where(), dec::str("unsupported dtype ", t));
}

at::ScalarType from_wire(WireDtype w) {
  for (const auto& d : kDtypes)
    if (d.wire == w) return d.torch;
  DEC_ASSERT(false, "wire dtype ", static_cast<std::int64_t>(w), " without a torch dtype");
  return at::kFloat;
}

void check_buffer(const at::Tensor& t, const std::string& op) {
  DEC_ASSERT(t.defined(), op, ": undefined tensor");
  DEC_ASSERT(t.device().is_cpu(), op, ": tensor on ", t.device());
  DEC_ASSERT(t.is_contiguous(), op, ": tensor must be contiguous");
}

std::uint64_t nbytes(const at::Tensor& t) {
  return static_cast<std::uint64_t>(t.numel()) * t.element_size();
}

void wait(const c10::intrusive_ptr<c10d::Work>& work, std::chrono::milliseconds timeout) {
  // Point-to-point works throw Gloo's own timeout; collective works throw
  // "Operation timed out!" and keep running on Gloo's worker thread until the
  // group's Gloo timeout (the same deadline) stops them.
  if (!work->wait(timeout)) throw std::runtime_error("operation aborted");
}

}  // namespace

// With emulated links: books the message on its route, queues `deliver` (the real
// transfer) on the peer's delay line for the arrival time, and blocks until the
// message has left this rank. Booking and queueing happen under one lock, so the
// delay line delivers in booking order, which is arrival order on one route.
void Group::State::send_delayed(int peer, std::uint64_t bytes, std::function<void()> deliver) {
  LinkShaper& shaper = *world->options.shaper;
  Transmission t;
  {
    std::lock_guard<std::mutex> lock(lines_mu);
    t = shaper.book(world->global_rank, members[peer], bytes);
    auto& line = lines[peer];
    if (!line) line = std::make_unique<DelayLine>(shaper.clock());
    line->post(t.arrive_at, std::move(deliver));
  }
  shaper.clock().sleep_until(t.leave_at);
}

void Group::send(const at::Tensor& tensor, int peer, int tag) {
  State& s = *state_;
  check_buffer(tensor, "send");
  DEC_ASSERT(peer != s.rank, "send to self (rank ", s.rank, ") crashes Gloo");
  DEC_ASSERT(peer >= 0 && peer < size(), "send to group rank ", peer, " of ", size());
  DEC_ASSERT(tag >= 0 && tag < kReservedTag, "tag ", tag, " outside [0, kReservedTag)");
  const std::uint64_t bytes = nbytes(tensor);
  if (bytes == 0) return;
  const int dst = s.members[peer];
  Clock& clock = *s.world->clock;
  const double t0 = clock.now();
  s.throw_if_failed();
  auto deliver = [&s, peer, tag](const at::Tensor& t) {
    s.guarded("send failed", s.at_peer(peer, tag), [&] {
      std::vector<at::Tensor> v{t};
      wait(s.pg->send(v, peer, tag), s.world->options.timeout);
    });
  };
  if (s.world->options.shaper) {
    // The caller may reuse its tensor once send returns: deliver a copy.
    s.send_delayed(peer, bytes, [deliver, copy = tensor.clone()] { deliver(copy); });
  } else {
    deliver(tensor);
  }
  s.world->counters->add_send(dst, bytes, clock.now() - t0);
}

void Group::flush() {
  State& s = *state_;
  std::vector<DelayLine*> lines;
  {
    std::lock_guard<std::mutex> lock(s.lines_mu);
    for (auto& [peer, line] : s.lines) lines.push_back(line.get());
  }
  for (DelayLine* line : lines) line->drain();  // rethrows a delivery's failure
  s.throw_if_failed();
}

void Group::recv(at::Tensor& tensor, int peer, int tag) { post_recv(tensor, peer, tag).wait(); }

Group::PendingRecv Group::post_recv(at::Tensor& tensor, int peer, int tag) {
  State& s = *state_;
  check_buffer(tensor, "recv");
  DEC_ASSERT(peer != s.rank, "recv from self (rank ", s.rank, ")");
  DEC_ASSERT(peer >= 0 && peer < size(), "recv from group rank ", peer, " of ", size());
  DEC_ASSERT(tag >= 0 && tag < kReservedTag, "tag ", tag, " outside [0, kReservedTag)");
  PendingRecv pending;
  const std::uint64_t bytes = nbytes(tensor);
  if (bytes == 0) {
    pending.wait_ = [] {};
    return pending;
  }
  c10::intrusive_ptr<c10d::Work> work;
  s.guarded("recv failed", s.at_peer(peer, tag), [&] {
    std::vector<at::Tensor> v{tensor};
    work = s.pg->recv(v, peer, tag);
  });
  pending.wait_ = [state = state_, work, peer, tag, bytes] {
    State& s = *state;
    Clock& clock = *s.world->clock;
    const double t0 = clock.now();
    s.guarded("recv failed", s.at_peer(peer, tag),
              [&] { wait(work, s.world->options.timeout); });
    s.world->counters->add_recv(s.members[peer], bytes, clock.now() - t0);
  };
  return pending;
}

void Group::PendingRecv::wait() {
  DEC_ASSERT(wait_, "PendingRecv::wait called twice or on a receive never posted");
  auto w = std::move(wait_);
  wait_ = nullptr;
  w();
}

void Group::send_tensor(const at::Tensor& tensor, int peer, int tag) {
  State& s = *state_;
  DEC_ASSERT(tensor.defined() && tensor.device().is_cpu(),
             "send_tensor: undefined or non-CPU tensor");
  DEC_ASSERT(peer != s.rank, "send to self (rank ", s.rank, ") crashes Gloo");
  DEC_ASSERT(peer >= 0 && peer < size(), "send to group rank ", peer, " of ", size());
  DEC_ASSERT(tag >= 0 && tag < kReservedTag, "tag ", tag, " outside [0, kReservedTag)");
  const auto where = s.at_peer(peer, tag);
  const at::Tensor data = tensor.contiguous();
  TensorHeader h;
  h.dtype = to_wire(data.scalar_type(), where);
  h.sizes = data.sizes().vec();
  h.nbytes = static_cast<std::int64_t>(nbytes(data));
  HeaderWords words = encode_header(h, where);
  at::Tensor header = at::from_blob(words.data(), {kHeaderWords}, at::kLong);
  const std::uint64_t bytes = nbytes(header) + nbytes(data);
  const int dst = s.members[peer];
  Clock& clock = *s.world->clock;
  const double t0 = clock.now();
  s.throw_if_failed();
  auto deliver = [&s, peer, tag, where](const at::Tensor& header, const at::Tensor& data) {
    s.guarded("send failed", where, [&] {
      // Both posted before waiting: the data follows the header without a round trip.
      std::vector<at::Tensor> hv{header};
      auto hw = s.pg->send(hv, peer, tag);
      c10::intrusive_ptr<c10d::Work> dw;
      if (data.numel() > 0) {
        std::vector<at::Tensor> dv{data};
        dw = s.pg->send(dv, peer, tag);
      }
      wait(hw, s.world->options.timeout);
      if (dw) wait(dw, s.world->options.timeout);
    });
  };
  if (s.world->options.shaper) {
    s.send_delayed(peer, bytes, [deliver, h = header.clone(), d = data.clone()] { deliver(h, d); });
  } else {
    deliver(header, data);
  }
  s.world->counters->add_send(dst, bytes, clock.now() - t0);
}

at::Tensor Group::recv_tensor(int peer, int tag) {
  State& s = *state_;
  DEC_ASSERT(peer != s.rank, "recv from self (rank ", s.rank, ")");
  DEC_ASSERT(peer >= 0 && peer < size(), "recv from group rank ", peer, " of ", size());
  DEC_ASSERT(tag >= 0 && tag < kReservedTag, "tag ", tag, " outside [0, kReservedTag)");
  const auto where = s.at_peer(peer, tag);
  Clock& clock = *s.world->clock;
  const double t0 = clock.now();
  HeaderWords words{};
  at::Tensor header = at::from_blob(words.data(), {kHeaderWords}, at::kLong);
  s.guarded("recv failed", where, [&] {
    std::vector<at::Tensor> v{header};
    wait(s.pg->recv(v, peer, tag), s.world->options.timeout);
  });
  const TensorHeader h = decode_header(words, where);
  at::Tensor out = at::empty(h.sizes, at::TensorOptions().dtype(from_wire(h.dtype)));
  if (h.nbytes > 0) {
    s.guarded("recv failed", where, [&] {
      std::vector<at::Tensor> v{out};
      wait(s.pg->recv(v, peer, tag), s.world->options.timeout);
    });
  }
  s.world->counters->add_recv(s.members[peer], nbytes(header) + nbytes(out), clock.now() - t0);
  return out;
}

namespace {

// Two members: each sends its tensors whole and adds the other's. Gloo's ring
// moves the same bytes as four segments each way in two dependent phases
// (reduce-scatter, then all-gather), through its worker thread, on one flat
// buffer that the caller copies in and out (docs/measurements.md, "Two-member
// all-reduce"). a + b == b + a exactly, so both members hold the same sums.
void exchange_sum(Group::State& s, std::vector<at::Tensor>& tensors) {
  const int peer = 1 - s.rank;
  const auto timeout = s.world->options.timeout;
  std::vector<at::Tensor> theirs;
  std::vector<c10::intrusive_ptr<c10d::Work>> received, sent;
  s.guarded("all-reduce failed", s.at_group(), [&] {
    for (const auto& t : tensors) {  // every receive posted before the first send
      std::vector<at::Tensor> v{theirs.emplace_back(at::empty_like(t))};
      received.push_back(s.pg->recv(v, peer, Group::kReservedTag));
    }
    for (const auto& t : tensors) {
      std::vector<at::Tensor> v{t};
      sent.push_back(s.pg->send(v, peer, Group::kReservedTag));
    }
    for (size_t k = 0; k < tensors.size(); ++k) {
      wait(received[k], timeout);
      wait(sent[k], timeout);  // before the sum overwrites what it sends
      tensors[k].add_(theirs[k]);
    }
  });
}

// More members: Gloo's ring on one flat buffer.
void ring_sum(Group::State& s, std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> views;
  for (const auto& t : tensors) views.push_back(t.view(-1));
  std::vector<at::Tensor> flat{views.size() == 1 ? views[0] : at::cat(views)};
  s.guarded("all-reduce failed", s.at_group(), [&] {
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    opts.timeout = s.world->options.timeout;
    wait(s.pg->allreduce(flat, opts), s.world->options.timeout);
  });
  if (tensors.size() == 1) return;
  int64_t offset = 0;
  for (auto& v : views) {
    v.copy_(flat[0].slice(0, offset, offset + v.numel()));
    offset += v.numel();
  }
}

}  // namespace

void Group::allreduce_sum(at::Tensor& tensor) {
  std::vector<at::Tensor> one{tensor};
  allreduce_sum_coalesced(one);
}

void Group::allreduce_sum_coalesced(std::vector<at::Tensor>& tensors) {
  State& s = *state_;
  std::vector<at::Tensor> nonempty;
  std::uint64_t bytes = 0;
  for (const auto& t : tensors) {
    check_buffer(t, "allreduce_sum");
    DEC_ASSERT(t.scalar_type() == tensors.front().scalar_type(), "allreduce_sum of ",
               t.scalar_type(), " and ", tensors.front().scalar_type(), " at once");
    bytes += nbytes(t);
    if (t.numel() > 0) nonempty.push_back(t);
  }
  const int n = size();
  if (n == 1 || nonempty.empty()) return;
  const int next = s.members[(s.rank + 1) % n];
  const int prev = s.members[(s.rank + n - 1) % n];
  const auto ring_bytes = static_cast<std::uint64_t>(2.0 * (n - 1) / n * bytes);
  Clock& clock = *s.world->clock;
  const double t0 = clock.now();
  s.throw_if_failed();
  if (LinkShaper* shaper = s.world->options.shaper.get()) {
    // The ring's bytes to the next rank, then its 2 (n - 1) steps' latencies.
    const Transmission t = shaper->book(s.world->global_rank, next, ring_bytes);
    const double lat = shaper->latency(s.world->global_rank, next);
    shaper->clock().sleep_until(t.arrive_at + (2 * (n - 1) - 1) * lat);
  }
  if (n == 2 && nonempty.front().scalar_type() != at::kBool) exchange_sum(s, nonempty);
  else ring_sum(s, nonempty);
  s.world->counters->add_collective("allreduce " + s.name, bytes, clock.now() - t0);
  s.world->counters->add_collective_bytes(next, prev, ring_bytes);
}

void Group::broadcast(at::Tensor& tensor, int root) {
  State& s = *state_;
  const at::Tensor wire = tensor.defined() ? tensor.contiguous() : tensor;
  check_buffer(wire, "broadcast");
  DEC_ASSERT(root >= 0 && root < size(), "broadcast root ", root, " of ", size());
  if (size() == 1 || tensor.numel() == 0) return;
  Clock& clock = *s.world->clock;
  const double t0 = clock.now();
  s.guarded("broadcast failed", s.at_group(), [&] {
    std::vector<at::Tensor> v{wire};
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    opts.timeout = s.world->options.timeout;
    wait(s.pg->broadcast(v, opts), s.world->options.timeout);
  });
  if (!wire.is_same(tensor)) tensor.copy_(wire);
  s.world->counters->add_collective("broadcast " + s.name, nbytes(tensor), clock.now() - t0);
}

void Group::barrier() {
  State& s = *state_;
  if (size() == 1) return;
  Clock& clock = *s.world->clock;
  const double t0 = clock.now();
  s.guarded("barrier failed", s.at_group(), [&] {
    c10d::BarrierOptions opts;
    opts.timeout = s.world->options.timeout;
    wait(s.pg->barrier(opts), s.world->options.timeout);
  });
  s.world->counters->add_collective("barrier " + s.name, 0, clock.now() - t0);
}

}  // namespace dec::comm
