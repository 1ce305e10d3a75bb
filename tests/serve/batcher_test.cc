// Dynamic batching never changes results: requests run together in one
// forward pass get what they get alone (the whole model and partial block
// ranges), and a server with --max-batch answers as one without it.
#include "dec/serve/batcher.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

#include "dec/serve/kserve.h"
#include "dec/serve/served_model.h"
#include "dec/serve/server.h"
#include "serve_testing.h"

namespace dec::serve {
namespace {

using testing::max_abs_diff;
using testing::random_data;
using Clock = std::chrono::steady_clock;

Clock::time_point in(double s) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

std::shared_ptr<ServedModel> fmnist() { return ServedModel::load({"fmnist-cnn", {}, 0, "", 11}); }

// Threads submit ranges at once; each answer equals its own unbatched forward pass.
TEST(Batcher, BatchedEqualsUnbatchedOnEveryRange) {
  const auto model = fmnist();
  const size_t n = model->num_blocks();
  Admission admission(1, 64);
  Batcher batcher({8, 0.2}, admission, [&](const std::vector<float>& x, int64_t rows, size_t b, size_t e) {
    return model->run(x, rows, b, e);
  });
  const std::vector<std::pair<size_t, size_t>> ranges{{0, n}, {1, 3}, {2, n}, {0, 1}};
  constexpr int kThreads = 12;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, shared{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const auto [b, e] = ranges[static_cast<size_t>(t) % ranges.size()];
      const int64_t rows = 1 + t % 3;
      const std::vector<float> x = random_data(static_cast<size_t>(rows * model->boundary_elements(b)), 50 + t);
      const Batcher::Result r = batcher.submit(x, rows, b, e, in(30));
      EXPECT_EQ(r.status, Batcher::Result::Status::kDone);
      const double d = max_abs_diff(r.out, model->run(x, rows, b, e));
      EXPECT_LE(d, 1e-5) << "range [" << b << ", " << e << ") rows " << rows;
      if (d <= 1e-5) ++ok;
      if (r.batch_rows > rows) ++shared;
      EXPECT_LE(r.batch_rows, 8);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok, kThreads);
  EXPECT_GT(shared, 0) << "no request shared a forward pass";
  EXPECT_EQ(admission.inflight(), 0);
}

TEST(Batcher, OffRunsEachRequestAloneAndALargeRequestRunsAlone) {
  const auto model = fmnist();
  Admission admission(1, 8);
  std::atomic<int> passes{0};
  Batcher batcher({4, 0.05}, admission, [&](const std::vector<float>& x, int64_t rows, size_t b, size_t e) {
    ++passes;
    return model->run(x, rows, b, e);
  });
  const std::vector<float> x = random_data(6 * 784, 3);
  const Batcher::Result r = batcher.submit(x, 6, 0, model->num_blocks(), in(30));
  EXPECT_EQ(r.batch_rows, 6);
  EXPECT_TRUE(r.ran);
  EXPECT_LE(max_abs_diff(r.out, model->run(x, 6, 0, model->num_blocks())), 1e-5);
  EXPECT_EQ(passes, 1);
}

TEST(Batcher, ADeadlineOrAFullQueueFailsTheBatchAndAnErrorReachesEveryMember) {
  Admission admission(1, 0);
  ASSERT_EQ(admission.acquire(std::chrono::milliseconds(1)), Admission::Result::kAdmitted);  // the slot is busy
  Batcher batcher({4, 0}, admission, [](const std::vector<float>& x, int64_t, size_t, size_t) { return x; });
  const std::vector<float> x(4, 1.f);
  EXPECT_EQ(batcher.submit(x, 1, 0, 1, in(0.01)).status, Batcher::Result::Status::kQueueFull);
  admission.release();

  Admission one(1, 4);
  ASSERT_EQ(one.acquire(std::chrono::milliseconds(1)), Admission::Result::kAdmitted);
  Batcher waiting({4, 0}, one, [](const std::vector<float>& x, int64_t, size_t, size_t) { return x; });
  EXPECT_EQ(waiting.submit(x, 1, 0, 1, in(0.02)).status, Batcher::Result::Status::kTimedOut);
  one.release();

  Admission free_slot(1, 4);
  Batcher failing({4, 0.1}, free_slot, [](const std::vector<float>&, int64_t, size_t, size_t) -> std::vector<float> {
    throw std::runtime_error("forward failed");
  });
  std::atomic<int> thrown{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      try {
        failing.submit(x, 1, 0, 1, in(30));
      } catch (const std::runtime_error&) {
        ++thrown;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(thrown, 3);
  EXPECT_EQ(free_slot.inflight(), 0);
}

// A server with --max-batch answers concurrent clients what one without it
// does, and its metrics show forward passes of several rows.
TEST(Batcher, ServerWithBatchingAnswersAsWithout) {
  std::shared_ptr<ServedModel> model = fmnist();
  ServeOptions o;
  o.port = 0;
  o.warmup = 1;
  o.max_batch = 16;
  o.batch_delay_s = 0.05;
  InferenceServer server(model, o);
  server.start();
  ASSERT_TRUE(server.wait_ready());
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 6; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client cli("127.0.0.1", server.port());
      cli.set_read_timeout(30, 0);
      for (int i = 0; i < 4; ++i) {
        const int64_t rows = 1 + (c + i) % 2;
        const std::vector<float> x = random_data(static_cast<size_t>(rows) * 784, 100 * c + i);
        const nlohmann::json req = {
            {"inputs", {{{"name", "input"}, {"shape", {rows, 1, 28, 28}}, {"datatype", "FP32"}, {"data", x}}}}};
        auto r = cli.Post("/v2/models/fmnist-cnn/infer", req.dump(), "application/json");
        if (!r || r->status != 200) continue;
        const InferResponse resp = parse_infer_response(split_body(r->body, ""));
        if (max_abs_diff(resp.outputs[0].data, model->run(x, rows, 0, model->num_blocks())) <= 1e-5) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok, 24);
  httplib::Client cli("127.0.0.1", server.port());
  const std::string metrics = cli.Get("/metrics")->body;
  EXPECT_NE(metrics.find("dec_serve_batch_rows_bucket{model=\"fmnist-cnn\",le=\"512\"}"), std::string::npos);
  // Fewer forward passes than requests: some ran together.
  const std::string count = "dec_serve_batch_rows_count{model=\"fmnist-cnn\"} ";
  const size_t at = metrics.find(count);
  ASSERT_NE(at, std::string::npos) << metrics;
  EXPECT_LT(std::stoi(metrics.substr(at + count.size())), 24);
  server.stop();
}

}  // namespace
}  // namespace dec::serve
