#include "dec/comm/rendezvous.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>

#include "comm_testing.h"
#include "dec/core/error.h"

namespace dec::comm {
namespace {

using namespace std::chrono_literals;
using testing::message;
using testing::rank_options;
using testing::seconds_since;

// Hosts job `job` as rank 0 of `world` on a kernel-picked port, on its own thread.
struct Host {
  explicit Host(int world, const std::string& job = "test",
                std::chrono::milliseconds timeout = 5000ms,
                std::function<void(RendezvousOptions&)> customize = nullptr) {
    std::promise<std::uint16_t> listening;
    auto port_future = listening.get_future();
    result = std::async(std::launch::async, [=, p = std::move(listening)]() mutable {
      RendezvousOptions o = rank_options(0, world, job, timeout);
      bool listening = false;
      o.on_listening = [&](std::uint16_t port) {
        listening = true;
        p.set_value(port);
      };
      if (customize) customize(o);
      try {
        return rendezvous(o);
      } catch (...) {
        if (!listening) p.set_exception(std::current_exception());
        throw;
      }
    });
    port = port_future.get();
  }
  std::uint16_t port = 0;
  std::future<Rendezvous> result;
};

RendezvousOptions joiner(int rank, int world, std::uint16_t port, const std::string& job = "test",
                         std::chrono::milliseconds timeout = 5000ms) {
  RendezvousOptions o = rank_options(rank, world, job, timeout);
  o.init.master_port = port;
  return o;
}

TEST(Rendezvous, ThreeRanksJoinAndShareTheStore) {
  std::mutex mu;
  std::vector<JoinProgress> reports;
  auto errors = testing::run_ranks(
      3,
      [&](Rendezvous& rv) {
        ASSERT_EQ(rv.world_size(), 3);
        for (int r = 0; r < 3; ++r) {
          EXPECT_EQ(rv.member(r).rank, r);
          EXPECT_EQ(rv.member(r).node_name, "node" + std::to_string(r));
        }
        EXPECT_EQ(rv.member(2).tier, "cloud");
        EXPECT_EQ(rv.describe(1), "rank 1 (node1)");
        Store store = rv.store();
        store.set("hello/" + std::to_string(rv.rank()), "from " + std::to_string(rv.rank()));
        EXPECT_EQ(store.get("hello/" + std::to_string((rv.rank() + 1) % 3), 5000ms),
                  "from " + std::to_string((rv.rank() + 1) % 3));
      },
      [&](RendezvousOptions& o) {
        o.tier = o.init.rank == 2 ? "cloud" : "device";
        o.on_progress = [&](const JoinProgress& p) {
          std::lock_guard<std::mutex> lock(mu);
          reports.push_back(p);
        };
      });
  testing::expect_ok(errors);
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back().joined, 3);
  EXPECT_EQ(reports.back().message, "3/3 joined");
}

TEST(Rendezvous, MissingRankTimesOutOnEveryPresentRankNamingIt) {
  constexpr auto kJoin = 1000ms;
  std::mutex mu;
  std::string last_progress;
  Host host(3, "test", kJoin, [&](RendezvousOptions& o) {
    o.expected_names = {"device", "edge0", "edge1"};
    o.on_progress = [&](const JoinProgress& p) {
      std::lock_guard<std::mutex> lock(mu);
      last_progress = p.message;
    };
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r1 = std::async(std::launch::async,
                       [&] { return rendezvous(joiner(1, 3, host.port, "test", kJoin)); });
  for (auto* f : {&host.result, &r1}) {
    try {
      f->get();
      ADD_FAILURE() << "rendezvous succeeded without rank 2";
    } catch (const Timeout& e) {
      EXPECT_NE(std::string(e.what()).find("rank 2"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("rank 1"), std::string::npos) << e.what();
    }
  }
  EXPECT_LT(seconds_since(t0), kJoin.count() / 1000.0 + 20.0);  // the join deadline applied
  EXPECT_EQ(last_progress, "2/3 joined; waiting for rank 2 (edge1)");
}

TEST(Rendezvous, RankWithoutServerGivesUpAtTheDeadline) {
  // A port nobody listens on: hosts and then closes a job to learn a free port.
  std::uint16_t port = 0;
  {
    Host host(1);
    port = host.port;
    host.result.get();
  }
  const auto t0 = std::chrono::steady_clock::now();
  try {
    rendezvous(joiner(1, 2, port, "test", 1000ms));
    ADD_FAILURE() << "joined without a server";
  } catch (const Timeout& e) {
    EXPECT_NE(std::string(e.what()).find("cannot reach the master"), std::string::npos) << e.what();
  }
  EXPECT_LT(seconds_since(t0), 20.0);  // the join deadline applied
}

TEST(Rendezvous, WrongTokenIsRefusedWithoutDisturbingTheJob) {
  Host host(2);
  auto bad = joiner(1, 2, host.port);
  bad.token = "guess";
  EXPECT_THROW(rendezvous(bad), Mismatch);
  Rendezvous good = rendezvous(joiner(1, 2, host.port));
  EXPECT_EQ(good.world_size(), 2);
  EXPECT_EQ(host.result.get().world_size(), 2);
}

TEST(Rendezvous, WrongJobIdIsRefusedNamingTheHostedJob) {
  Host host(2, "alpha");
  try {
    rendezvous(joiner(1, 2, host.port, "beta"));
    ADD_FAILURE() << "joined another job";
  } catch (const Mismatch& e) {
    EXPECT_NE(std::string(e.what()).find("'alpha'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(rendezvous(joiner(1, 2, host.port, "alpha")).job_id(), "alpha");
  EXPECT_EQ(host.result.get().job_id(), "alpha");
}

TEST(Rendezvous, WorldSizeMismatchAndDuplicateRankAreRefused) {
  // Rank 0 says when a second rank has joined: rank 1 has then claimed its slot.
  std::promise<void> claimed;
  std::atomic<bool> told{false};
  Host host(3, "test", 5000ms, [&](RendezvousOptions& o) {
    o.progress_interval = 10ms;
    o.on_progress = [&](const JoinProgress& p) {
      if (p.joined >= 2 && !told.exchange(true)) claimed.set_value();
    };
  });
  EXPECT_THROW(rendezvous(joiner(1, 4, host.port)), Mismatch);
  auto first = std::async(std::launch::async, [&] { return rendezvous(joiner(1, 3, host.port)); });
  // Then claim it again.
  ASSERT_EQ(claimed.get_future().wait_for(30s), std::future_status::ready) << "rank 1 never joined";
  auto dup = joiner(1, 3, host.port);
  dup.node_name = "impostor";
  try {
    rendezvous(dup);
    ADD_FAILURE() << "rank 1 claimed twice";
  } catch (const Mismatch& e) {
    EXPECT_NE(std::string(e.what()).find("node1"), std::string::npos) << e.what();
  }
  Rendezvous r2 = rendezvous(joiner(2, 3, host.port));
  EXPECT_EQ(first.get().member(1).node_name, "node1");
  EXPECT_EQ(host.result.get().member(2).node_name, "node2");
}

TEST(Rendezvous, SecondJobCannotHostOnAnOccupiedPort) {
  // One master port serves one job: the second job's rank 0 is told to pick
  // another port, and job A completes untouched.
  Host a(2, "alpha");
  RendezvousOptions b = rank_options(0, 2, "beta", 1000ms);
  b.init.master_port = a.port;
  try {
    rendezvous(b);
    ADD_FAILURE() << "two servers on one port";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(a.port)), std::string::npos) << e.what();
  }
  // Beta's other ranks, pointed at alpha's port, are refused by job id.
  EXPECT_THROW(rendezvous(joiner(1, 2, a.port, "beta", 1000ms)), Mismatch);
  EXPECT_EQ(rendezvous(joiner(1, 2, a.port, "alpha")).world_size(), 2);
  EXPECT_EQ(a.result.get().job_id(), "alpha");
}

TEST(Rendezvous, TwoJobsOnTheirOwnPortsRunSideBySide) {
  std::vector<std::exception_ptr> ea, eb;
  std::thread ta([&] {
    ea = testing::run_ranks(
        2, [](Rendezvous& rv) { EXPECT_EQ(rv.job_id(), "alpha"); }, nullptr, "alpha");
  });
  std::thread tb([&] {
    eb = testing::run_ranks(
        3, [](Rendezvous& rv) { EXPECT_EQ(rv.job_id(), "beta"); }, nullptr, "beta");
  });
  ta.join();
  tb.join();
  testing::expect_ok(ea);
  testing::expect_ok(eb);
}

TEST(Rendezvous, RejectsInvalidOptions) {
  auto o = rank_options(0, 2);
  o.job_id = "a/b";
  EXPECT_THROW(rendezvous(o), ConfigError);
  o = rank_options(2, 2);
  EXPECT_THROW(rendezvous(o), ConfigError);
  o = rank_options(0, 2);
  o.node_name = "bad\tname";
  EXPECT_THROW(rendezvous(o), ConfigError);
}

}  // namespace
}  // namespace dec::comm
