#include "dec/comm/group.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <tuple>

#include "comm_testing.h"
#include "dec/core/error.h"

namespace dec::comm {
namespace {

using namespace std::chrono_literals;
using testing::run_ranks;
using testing::seconds_since;

GroupOptions fast(std::chrono::milliseconds timeout = 5000ms) {
  GroupOptions o;
  o.timeout = timeout;
  return o;
}

at::Tensor pattern(at::ScalarType dtype, at::IntArrayRef shape, int seed) {
  at::Tensor t = at::arange(c10::multiply_integers(shape), at::kLong).add_(seed).reshape(shape);
  if (dtype == at::kBool) return t.remainder(2).to(at::kBool);
  if (dtype == at::kByte || dtype == at::kChar) return t.remainder(100).to(dtype);
  if (dtype == at::kHalf) return t.remainder(1000).to(dtype);  // exact in fp16
  return t.to(dtype);
}

// --- send/recv with shape header: dtypes x shapes x world sizes -------------

using SweepParam = std::tuple<int /*world*/, at::ScalarType>;

class SendRecvSweep : public ::testing::TestWithParam<SweepParam> {};

TEST_P(SendRecvSweep, RingOfShapeHeaderedTensorsArrivesExactly) {
  const auto [world, dtype] = GetParam();
  const std::vector<std::vector<int64_t>> shapes = {{},        {0},       {1},         {1000},
                                                    {1 << 20}, {3, 0, 2}, {2, 3, 4, 5}};
  auto errors = run_ranks(world, [&, world = world, dtype = dtype](Rendezvous& rv) {
    Group g = Group::world(rv, fast());
    const int next = (g.rank() + 1) % world, prev = (g.rank() + world - 1) % world;
    // Sends block until the receiver posts its recv, so every rank sends from a
    // second thread and receives on this one.
    auto sender = std::async(std::launch::async, [&] {
      for (size_t i = 0; i < shapes.size(); ++i)
        g.send_tensor(pattern(dtype, shapes[i], g.rank()), next, static_cast<int>(i));
    });
    for (size_t i = 0; i < shapes.size(); ++i) {
      at::Tensor got = g.recv_tensor(prev, static_cast<int>(i));
      const at::Tensor want = pattern(dtype, shapes[i], prev);
      ASSERT_EQ(got.scalar_type(), dtype);
      ASSERT_EQ(got.sizes(), want.sizes());
      EXPECT_TRUE(at::equal(got, want)) << "shape " << i;
    }
    sender.get();
  });
  testing::expect_ok(errors);
}

INSTANTIATE_TEST_SUITE_P(WorldsAndDtypes, SendRecvSweep,
                         ::testing::Combine(::testing::Values(2, 3, 4),
                                            ::testing::Values(at::kFloat, at::kDouble, at::kLong,
                                                              at::kByte, at::kBool, at::kHalf)));

TEST(Group, PlainSendRecvOfKnownSizesAndNonContiguousHeader) {
  auto errors = run_ranks(2, [](Rendezvous& rv) {
    Group g = Group::world(rv, fast());
    const at::Tensor eye = at::eye(4, at::kFloat);
    if (g.rank() == 0) {
      g.send(at::full({1000}, 7.0f), 1, 3);
      g.send_tensor(eye.t().slice(0, 1, 3), 1, 4);  // non-contiguous: made contiguous
    } else {
      at::Tensor buf = at::zeros({1000});
      g.recv(buf, 0, 3);
      EXPECT_TRUE(at::equal(buf, at::full({1000}, 7.0f)));
      EXPECT_TRUE(at::equal(g.recv_tensor(0, 4), eye.t().slice(0, 1, 3)));
    }
  });
  testing::expect_ok(errors);
}

// Gloo's send is a rendezvous: it completes only once the receiver has posted the
// matching recv, even for 4 bytes. Two ranks that send to each other first deadlock
// until the deadline; the runtime sends from its own threads.
TEST(Group, SendReturnsOnlyAfterTheReceiverPostsItsRecv) {
  std::atomic<bool> posting{false};
  bool posting_when_sent = false;
  auto errors = run_ranks(2, [&](Rendezvous& rv) {
    Group g = Group::world(rv, fast());
    if (g.rank() == 0) {
      g.send(at::ones({1}), 1, 0);
      posting_when_sent = posting.load();
    } else {
      std::this_thread::sleep_for(300ms);  // time for a send that did not wait to return
      at::Tensor t = at::empty({1});
      posting = true;
      g.recv(t, 0, 0);
    }
  });
  testing::expect_ok(errors);
  EXPECT_TRUE(posting_when_sent);
}

TEST(Group, WorldOfOneRankIsANoOp) {
  auto errors = run_ranks(1, [](Rendezvous& rv) {
    Group g = Group::world(rv, fast());
    EXPECT_EQ(g.size(), 1);
    at::Tensor t = at::ones({3});
    g.allreduce_sum(t);
    g.broadcast(t, 0);
    g.barrier();
    EXPECT_TRUE(at::equal(t, at::ones({3})));
    Group self = g.new_subgroup("self", {0});
    EXPECT_EQ(self.size(), 1);
  });
  testing::expect_ok(errors);
}

TEST(Group, ListensOnAChosenInterfaceOrAddress) {
  for (const char* how : {"interface", "address"}) {
    auto errors = run_ranks(2, [&](Rendezvous& rv) {
      GroupOptions o = fast();
      (std::string(how) == "interface" ? o.interface : o.bind_address) =
          std::string(how) == "interface" ? "lo" : "127.0.0.1";
      Group g = Group::world(rv, o);
      at::Tensor t = at::ones({8});
      g.allreduce_sum(t);
      EXPECT_TRUE(at::equal(t, at::full({8}, 2.0f)));
    });
    testing::expect_ok(errors);
  }
  auto errors = run_ranks(1, [](Rendezvous& rv) {
    GroupOptions o = fast();
    o.interface = "no-such-if0";
    EXPECT_THROW(Group::world(rv, o), ConfigError);
  });
  testing::expect_ok(errors);
}

TEST(Group, SendToSelfIsAnInternalError) {
  auto errors = run_ranks(2, [](Rendezvous& rv) {
    Group g = Group::world(rv, fast());
    at::Tensor t = at::ones({4});
    EXPECT_THROW(g.send(t, g.rank(), 0), InternalError);
    EXPECT_THROW(g.send_tensor(t, g.rank(), 0), InternalError);
    EXPECT_THROW(g.recv(t, g.rank(), 0), InternalError);
    g.barrier();  // still usable: argument errors do not break the group
  });
  testing::expect_ok(errors);
}

// --- collectives -------------------------------------------------------------

TEST(Group, BroadcastAndBarrier) {
  auto errors = run_ranks(3, [](Rendezvous& rv) {
    Group g = Group::world(rv, fast());
    at::Tensor t = g.rank() == 1 ? at::arange(10, at::kFloat) : at::zeros({10});
    g.broadcast(t, 1);
    EXPECT_TRUE(at::equal(t, at::arange(10, at::kFloat)));
    g.barrier();
  });
  testing::expect_ok(errors);
}

TEST(Group, BroadcastWritesANonContiguousTensorInPlace) {
  auto errors = run_ranks(2, [](Rendezvous& rv) {
    Group g = Group::world(rv, fast());
    const at::Tensor want = at::arange(2 * 3 * 4 * 5, at::kFloat).reshape({2, 3, 4, 5});
    at::Tensor t = (g.rank() == 0 ? want : at::zeros_like(want)).contiguous(at::MemoryFormat::ChannelsLast);
    const void* storage = t.data_ptr();
    g.broadcast(t, 0);
    EXPECT_TRUE(at::equal(t, want));
    EXPECT_EQ(t.data_ptr(), storage);  // in place, layout kept
    EXPECT_TRUE(t.is_contiguous(at::MemoryFormat::ChannelsLast));
  });
  testing::expect_ok(errors);
}

TEST(Group, AllreduceOnConcurrentSubgroupsOfSeveralMemberships) {
  const std::vector<std::pair<std::string, std::vector<int>>> groups = {
      {"a", {0, 1}}, {"b", {3, 1, 2}}, {"c", {0, 2}}, {"all", {0, 1, 2, 3}}, {"d", {1, 3}}};
  auto errors = run_ranks(4, [&](Rendezvous& rv) {
    Group world = Group::world(rv, fast());
    std::vector<Group> mine;
    for (const auto& [name, ranks] : groups)
      if (std::find(ranks.begin(), ranks.end(), rv.rank()) != ranks.end())
        mine.push_back(world.new_subgroup(name, ranks));
    std::vector<std::future<void>> runs;
    for (Group& g : mine) {
      runs.push_back(std::async(std::launch::async, [&g, &rv] {
        std::vector<int> sorted = g.members();
        EXPECT_TRUE(std::is_sorted(sorted.begin(), sorted.end()));
        EXPECT_EQ(g.global_rank(g.rank()), rv.rank());
        EXPECT_EQ(g.group_rank(rv.rank()), g.rank());
        double want = 0;
        for (int m : g.members()) want += m + 1;
        for (int64_t n : {1, 1000, 1 << 18, 3}) {
          at::Tensor t = at::full({n}, static_cast<float>(rv.rank() + 1));
          g.allreduce_sum(t);
          EXPECT_TRUE(at::equal(t, at::full({n}, static_cast<float>(want)))) << g.name();
        }
      }));
    }
    for (auto& r : runs) r.get();
  });
  testing::expect_ok(errors);
}

// Two members exchange their tensors instead of running Gloo's ring: the sum
// must be exact and bitwise the same on both, for every dtype the ring took,
// interleaved with the caller's own point-to-point messages.
TEST(Group, TwoMemberAllreduceIsExactAndTheSameOnBoth) {
  auto errors = run_ranks(2, [](Rendezvous& rv) {
    Group g = Group::world(rv, fast());
    const int peer = 1 - g.rank();
    for (at::ScalarType dtype : {at::kFloat, at::kDouble, at::kLong, at::kInt, at::kHalf}) {
      for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{1} << 20}) {
        at::Tensor mine = dtype == at::kFloat || dtype == at::kDouble
                              ? at::randn({n}, at::TensorOptions().dtype(dtype))
                              : pattern(dtype, {n}, 3 * g.rank());
        at::Tensor t = mine.clone();
        g.allreduce_sum(t);
        at::Tensor theirs = at::empty_like(mine);
        auto sent = std::async(std::launch::async, [&] { g.send(mine, peer, 5); });
        g.recv(theirs, peer, 5);
        sent.get();
        const at::Tensor want = g.rank() == 0 ? mine + theirs : theirs + mine;
        EXPECT_TRUE(at::equal(t, want)) << dtype << " n " << n;
        at::Tensor other = at::empty_like(t);  // the other member's result
        auto echo = std::async(std::launch::async, [&] { g.send(t, peer, 6); });
        g.recv(other, peer, 6);
        echo.get();
        EXPECT_TRUE(at::equal(t, other)) << dtype << " n " << n;
      }
    }
    at::Tensor empty = at::empty({0});
    g.allreduce_sum(empty);
    EXPECT_THROW(g.send(at::ones({1}), peer, Group::kReservedTag), InternalError);
  });
  testing::expect_ok(errors);
}

TEST(Group, CoalescedAllreduceSumsEachTensorAsOneCollective) {
  for (int world : {2, 3}) {
    auto errors = run_ranks(world, [world](Rendezvous& rv) {
      Group g = Group::world(rv, fast());
      const std::vector<int64_t> sizes = {5, 0, 1 << 18, 3};
      std::vector<at::Tensor> ts;
      for (int64_t n : sizes) ts.push_back(at::full({n}, static_cast<float>(g.rank() + 1)));
      const void* first = ts[0].data_ptr();
      g.allreduce_sum_coalesced(ts);
      const float want = world * (world + 1) / 2.0f;
      for (size_t k = 0; k < sizes.size(); ++k)
        EXPECT_TRUE(at::equal(ts[k], at::full({sizes[k]}, want))) << "world " << world << " k " << k;
      EXPECT_EQ(ts[0].data_ptr(), first);  // in place
      const auto& ar = g.counters().snapshot().collectives.at("allreduce world");
      EXPECT_EQ(ar.calls, 1u);
      EXPECT_EQ(ar.bytes, 4u * (5 + (1 << 18) + 3));
      std::vector<at::Tensor> mixed{at::ones({2}), at::ones({2}, at::kDouble)};
      EXPECT_THROW(g.allreduce_sum_coalesced(mixed), InternalError);
    });
    testing::expect_ok(errors);
  }
}

TEST(Group, SubgroupArgumentsAreChecked) {
  auto errors = run_ranks(3, [](Rendezvous& rv) {
    Group world = Group::world(rv, fast());
    if (rv.rank() == 2) {
      EXPECT_THROW(world.new_subgroup("x", {0, 1}), ConfigError);  // not a member
    }
    EXPECT_THROW(world.new_subgroup("x", {0, 0, 1, 2}), ConfigError);
    EXPECT_THROW(world.new_subgroup("x", {0, 1, 2, 5}), ConfigError);
    EXPECT_THROW(world.group_rank(7), ConfigError);
  });
  testing::expect_ok(errors);
}

// --- deadlines and failures ---------------------------------------------------

TEST(Group, SilentPeerTimesOutAtTheDeadlineNamingIt) {
  auto errors = run_ranks(3, [](Rendezvous& rv) {
    Group g = Group::world(rv, fast(1000ms));
    if (rv.rank() == 1) {
      at::Tensor t = at::zeros({16});
      const auto t0 = std::chrono::steady_clock::now();
      try {
        g.recv(t, 2, 9);  // rank 2 never sends
        ADD_FAILURE() << "recv returned";
      } catch (const Timeout& e) {
        RecordProperty("message", e.what());
        EXPECT_NE(std::string(e.what()).find("rank 2 (node2)"), std::string::npos) << e.what();
      }
      // Not before the deadline; the upper bound only tells the job's deadline
      // from Gloo's own 30 minutes, with room for a loaded machine.
      EXPECT_GE(seconds_since(t0), 0.95);
      EXPECT_LT(seconds_since(t0), 20.0);
      // The group is unusable from now on, and says so at once.
      EXPECT_THROW(g.recv(t, 0, 1), Timeout);
      rv.store().set("done", "1");
    }
    rv.store().wait({"done"}, 5000ms);  // peers stay up: a closed socket is PeerLost
  });
  testing::expect_ok(errors);
}

TEST(Group, MissingAllreduceMemberTimesOut) {
  auto errors = run_ranks(2, [](Rendezvous& rv) {
    Group g = Group::world(rv, fast(1000ms));
    if (rv.rank() == 0) {
      at::Tensor t = at::ones({100});
      const auto t0 = std::chrono::steady_clock::now();
      try {
        g.allreduce_sum(t);
        ADD_FAILURE() << "all-reduce returned";
      } catch (const Timeout& e) {
        RecordProperty("message", e.what());
        EXPECT_NE(std::string(e.what()).find("group 'world'"), std::string::npos) << e.what();
      }
      EXPECT_LT(seconds_since(t0), 20.0);  // the deadline, not Gloo's 30 minutes
      rv.store().set("done", "1");
    }
    rv.store().wait({"done"}, 5000ms);
  });
  testing::expect_ok(errors);
}

TEST(Group, MemberThatNeverArrivesIsNamed) {
  auto errors = run_ranks(3, [](Rendezvous& rv) {
    Group world = Group::world(rv, fast(1000ms));
    if (rv.rank() == 2) return;
    try {
      world.new_subgroup("late", {0, 1, 2});
      ADD_FAILURE() << "group built without rank 2";
    } catch (const Timeout& e) {
      if (rv.rank() == 0) RecordProperty("message", e.what());
      EXPECT_NE(std::string(e.what()).find("missing rank 2 (node2)"), std::string::npos)
          << e.what();
    }
  });
  testing::expect_ok(errors);
}

// --- emulation and counters -----------------------------------------------------

// The shaped links run on a logical clock that the test advances (ManualClock):
// the times below are exact. How closely real sleeps follow is bench/comm_bench's.
TEST(Group, ShapedLinkDeliversAtItsRate) {
  constexpr int kChunks = 16;
  constexpr int64_t kFloats = 8'000'000 / 4 / kChunks;  // 8 MB in all, 0.1 s a chunk at 40 Mbit/s
  testing::ManualClock clock;
  auto shaper = std::make_shared<TokenBucketShaper>(clock);
  LinkSpec link;
  link.mbps = 40;
  link.burst_s = 0;
  shaper->set_link(0, 1, link);
  // Each chunk: the sender sleeps until it has left, rank 0's delay line until it
  // arrives, the same time without latency.
  std::string stuck;
  std::thread driver([&] {
    for (int i = 1; i <= kChunks && stuck.empty(); ++i)
      if (!clock.advance_when_asleep(0.1 * i, 2)) stuck = "chunk " + std::to_string(i - 1) + " never sent";
  });
  double elapsed = -1;
  auto errors = run_ranks(2, [&](Rendezvous& rv) {
    Group g = Group::world(rv, fast().with_shaper(shaper));
    g.barrier();
    if (g.rank() == 0) {
      for (int i = 0; i < kChunks; ++i) g.send(at::ones({kFloats}), 1, i);
    } else {
      at::Tensor buf = at::empty({kFloats});
      for (int i = 0; i < kChunks; ++i) g.recv(buf, 0, i);
      elapsed = clock.now();  // when the last byte arrived
    }
  });
  driver.join();
  ASSERT_EQ(stuck, "");
  testing::expect_ok(errors);
  EXPECT_NEAR(elapsed, 1.6, 1e-9);  // 8e6 B * 8 / 40e6 bit/s
}

TEST(Group, EmulatedLatencyOverlapsBetweenMessagesAndCrossesEveryLinkOfTheRoute) {
  // Ranks 0 -> 1 through a middle endpoint 7: 60 ms + 40 ms of latency, no rate limit.
  testing::ManualClock clock;
  auto shaper = std::make_shared<TokenBucketShaper>(clock);
  LinkSpec a, b;
  a.latency_s = 0.060;
  b.latency_s = 0.040;
  shaper->set_duplex(0, 7, a);
  shaper->set_duplex(7, 1, b);
  shaper->set_route(0, 1, {0, 7, 1});
  shaper->set_route(1, 0, {1, 7, 0});
  // Without a rate every message leaves at once; only the delay line sleeps,
  // until 100 ms, and every message is due by then. The clock moves only once
  // all ten are booked: moved at the first one's sleep, it would book the rest
  // at 100 ms, due at 200 ms, which nobody reaches.
  std::string stuck;
  std::atomic<bool> all_sent{false};
  std::thread driver([&] {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!all_sent && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!clock.advance_when_asleep(0.100, 1)) stuck = "nothing waited for the first arrival";
  });
  double first = -1, last = -1;
  auto errors = run_ranks(2, [&](Rendezvous& rv) {
    Group g = Group::world(rv, fast().with_shaper(shaper));
    g.barrier();
    constexpr int kMessages = 10;
    if (g.rank() == 0) {
      for (int i = 0; i < kMessages; ++i) g.send(at::ones({1000}), 1, i);
      all_sent = true;
    } else {
      at::Tensor buf = at::empty({1000});
      for (int i = 0; i < kMessages; ++i) {
        g.recv(buf, 0, i);
        if (i == 0) first = clock.now();
      }
      last = clock.now();
    }
  });
  driver.join();
  ASSERT_EQ(stuck, "");
  testing::expect_ok(errors);
  EXPECT_NEAR(first, 0.100, 1e-9);
  EXPECT_NEAR(last, 0.100, 1e-9);  // not 10 x 100 ms: latencies overlap, as on a real network
}

TEST(Group, CountersRecordBytesAndTimePerPeer) {
  auto errors = run_ranks(3, [](Rendezvous& rv) {
    Group g = Group::world(rv, fast());
    const std::uint64_t header = 20 * 8;
    if (g.rank() == 0) {
      g.send_tensor(at::ones({250}), 1, 0);  // 1000 B + header
      g.send(at::ones({10}, at::kDouble), 2, 0);
    } else if (g.rank() == 1) {
      g.recv_tensor(0, 0);
    } else {
      at::Tensor t = at::empty({10}, at::kDouble);
      g.recv(t, 0, 0);
    }
    at::Tensor t = at::ones({300});
    g.allreduce_sum(t);
    const CountersSnapshot c = g.counters().snapshot();
    if (g.rank() == 0) {
      EXPECT_EQ(c.peers.at(1).bytes_sent, 1000 + header);
      EXPECT_EQ(c.peers.at(1).messages_sent, 1u);
      EXPECT_EQ(c.peers.at(2).bytes_sent, 80u);
      EXPECT_GT(c.peers.at(1).send_seconds, 0.0);
    } else if (g.rank() == 1) {
      EXPECT_EQ(c.peers.at(0).bytes_received, 1000 + header);
      EXPECT_EQ(c.peers.at(0).messages_received, 1u);
    } else {
      EXPECT_EQ(c.peers.at(0).bytes_received, 80u);
    }
    const auto& ar = c.collectives.at("allreduce world");
    EXPECT_EQ(ar.calls, 1u);
    EXPECT_EQ(ar.bytes, 1200u);
    // Ring estimate: 2 (n-1)/n of the buffer to the next rank.
    EXPECT_EQ(c.peers.at((g.rank() + 1) % 3).collective_bytes_sent, 1600u);
    EXPECT_GT(c.total_seconds(), 0.0);
    const CountersSnapshot taken = g.counters().take();
    EXPECT_EQ(taken.collectives.size(), c.collectives.size());
    EXPECT_TRUE(g.counters().snapshot().peers.empty());
  });
  testing::expect_ok(errors);
}

}  // namespace
}  // namespace dec::comm
