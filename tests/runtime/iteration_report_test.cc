// IterationReporter (runtime/iteration_report.h) with two ranks as threads:
// rank 0 writes one `iteration` line per step, in step order, with every
// rank's stats, the loss over the global batch and the slowest rank's time,
// gathered one step late; the last step's line is written before its report()
// returns, and the observer sees every step.
#include <gtest/gtest.h>

#include <exception>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "dec/comm/rendezvous.h"
#include "dec/runtime/iteration_report.h"
#include "test_util.h"

namespace dec::runtime {
namespace {

using nlohmann::json;

constexpr int64_t kSteps = 5;
constexpr int64_t kBatch = 8;

comm::RendezvousOptions rank_options(int rank, uint16_t port) {
  comm::RendezvousOptions o;
  o.init.master_addr = "127.0.0.1";
  o.init.master_port = port;
  o.init.rank = rank;
  o.init.world_size = 2;
  o.node_name = rank == 0 ? "a" : "b";
  o.join_timeout = std::chrono::seconds(20);
  return o;
}

// What rank `rank` measured in `step`: distinct per rank and step.
IterationStats stats_of(int rank, int64_t step) {
  IterationStats st;
  st.loss_samples = kBatch / 2;
  st.loss_sum = static_cast<double>(10 * step + rank);
  st.wall_s = 0.001 * static_cast<double>(step) + (rank == 1 ? 0.0005 : 0.0);
  st.compute_s = st.wall_s / 2;
  st.trace.push_back({"compute", 0, st.compute_s, "fwd p0 mb0"});
  return st;
}

struct Steps : JobObserver {
  std::vector<int64_t> seen;
  void on_iteration(const IterationEvent& e) override { seen.push_back(e.step); }
};

TEST(IterationReporter, RankZeroWritesEveryStepInOrderWithEveryRanksStats) {
  testing::TempDir dir("iteration_report");
  ExecPlan plan;
  plan.nodes = {"a", "b"};
  plan.global_batch = kBatch;
  plan.predicted_iteration_s = 0.5;
  Steps observer;
  double last_loss = 0;
  std::vector<size_t> seen_after;  // rank 0: events seen when each report() returned

  std::promise<uint16_t> port;
  auto port_future = port.get_future().share();
  auto run = [&](int rank) {
    comm::RendezvousOptions o = rank_options(rank, 0);
    if (rank == 0) o.on_listening = [&](uint16_t p) { port.set_value(p); };
    else o.init.master_port = port_future.get();
    comm::Rendezvous rv = comm::rendezvous(o);
    std::unique_ptr<MetricsWriter> metrics;
    if (rank == 0) metrics = std::make_unique<MetricsWriter>(dir / "m.jsonl");
    IterationReporter reporter(rv, rv.store().prefixed("job"), plan, std::chrono::seconds(10), metrics.get(),
                               rank == 0 ? &observer : nullptr, 0, kSteps);
    for (int64_t step = 1; step <= kSteps; ++step) {
      reporter.report(step, 0, stats_of(rank, step), comm::CountersSnapshot{});
      if (rank == 0) seen_after.push_back(observer.seen.size());
    }
    if (rank == 0) last_loss = reporter.last_loss();
    // Rank 0 hosts the store: it stays until rank 1 is done with it.
    const comm::Store store = rv.store().prefixed("test");
    if (rank == 1) store.set("left", "1");
    else store.wait({"left"}, std::chrono::seconds(20));
  };
  std::exception_ptr rank1_error;
  std::thread rank1([&] {
    try {
      run(1);
    } catch (...) {
      rank1_error = std::current_exception();
    }
  });
  run(0);
  rank1.join();
  ASSERT_FALSE(rank1_error);

  // Every step reaches the observer, the last one before its report returns.
  EXPECT_EQ(observer.seen, (std::vector<int64_t>{1, 2, 3, 4, 5}));
  ASSERT_EQ(seen_after.size(), static_cast<size_t>(kSteps));
  EXPECT_EQ(seen_after.back(), static_cast<size_t>(kSteps));

  std::ifstream in(dir / "m.jsonl");
  std::vector<json> its, traces;
  for (std::string line; std::getline(in, line);) {
    const json j = json::parse(line);
    if (j["event"] == "iteration") its.push_back(j);
    if (j["event"] == "trace") traces.push_back(j);
  }
  ASSERT_EQ(its.size(), static_cast<size_t>(kSteps));
  for (int64_t step = 1; step <= kSteps; ++step) {
    const json& it = its[step - 1];
    EXPECT_EQ(it["step"], step);
    EXPECT_DOUBLE_EQ(it["loss"].get<double>(), static_cast<double>(20 * step + 1) / kBatch);
    EXPECT_DOUBLE_EQ(it["measured_s"].get<double>(), stats_of(1, step).wall_s);
    EXPECT_DOUBLE_EQ(it["nodes"]["a"]["wall_s"].get<double>(), stats_of(0, step).wall_s);
    EXPECT_DOUBLE_EQ(it["nodes"]["b"]["wall_s"].get<double>(), stats_of(1, step).wall_s);
    EXPECT_EQ(it["nodes"]["b"]["loss_samples"], kBatch / 2);
  }
  EXPECT_DOUBLE_EQ(last_loss, static_cast<double>(20 * kSteps + 1) / kBatch);
  // One traced step (the third run), with both ranks' spans.
  ASSERT_EQ(traces.size(), 1u);
  EXPECT_EQ(traces[0]["step"], 3);
  EXPECT_EQ(traces[0]["nodes"]["a"].size(), 1u);
  EXPECT_EQ(traces[0]["nodes"]["b"].size(), 1u);
}

}  // namespace
}  // namespace dec::runtime
