// comm_bench: all-reduce bus bandwidth and point-to-point throughput on loopback,
// through DEC's Group and, as the reference measured in the same run, through a raw
// c10d::ProcessGroupGloo over the same store.
//
//   comm_bench [--max-mib N] [--quick]
//
// Each figure is the best of 3 runs, DEC and raw measured back to back.
// Ranks are processes: the benchmark forks one child per rank (rank 0 first, it
// reports its kernel-picked port through a pipe), so each rank has its own Gloo
// threads as in a real job. Rank 0 reports timings through a pipe; the parent prints.
//   algbw = bytes / time per operation;  busbw = algbw * 2 (n-1) / n  (all-reduce)
#include <ATen/ATen.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <vector>

#include "dec/comm/group.h"
#include "dec/core/error.h"
#include "dec/core/units.h"

namespace {

using namespace dec::comm;
using Clock = std::chrono::steady_clock;

struct Config {
  std::vector<std::size_t> sizes;  // bytes
};

double seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int iterations(std::size_t bytes) {
  return static_cast<int>(std::clamp<std::size_t>((128u << 20) / bytes, 2, 40));
}

void write_line(int fd, const std::string& s) {
  const std::string line = s + "\n";
  if (::write(fd, line.data(), line.size()) < 0) std::perror("write");
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) out.append(buf, n);
  return out;
}

// The body of one rank. Rank 0 writes result lines to `out_fd`.
void run_rank(int rank, int world, std::uint16_t port, int port_fd, int out_fd, const Config& cfg) {
  RendezvousOptions o;
  o.init.master_addr = "127.0.0.1";
  o.init.master_port = port;
  o.init.rank = rank;
  o.init.world_size = world;
  o.job_id = "bench";
  o.join_timeout = std::chrono::seconds(30);
  o.on_listening = [&](std::uint16_t p) { write_line(port_fd, std::to_string(p)); };
  Rendezvous rv = rendezvous(o);
  Group g = Group::world(rv, GroupOptions().with_timeout(std::chrono::seconds(120)));

  auto opts = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(120));
  opts->devices = {c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")};
  opts->threads = 1;
  auto raw = c10::make_intrusive<c10d::ProcessGroupGloo>(rv.store().prefixed("raw").native(), rank,
                                                         world, opts);

  // Seconds per call of `op`, the best of kRepeats timed runs of `iters` calls
  // (the machine is shared: the minimum is the least disturbed figure).
  constexpr int kRepeats = 3;
  auto timed = [&](int iters, const std::function<void()>& op) {
    op();  // warm-up: connections, allocations
    double best = 1e300;
    for (int r = 0; r < kRepeats; ++r) {
      g.barrier();
      const auto t0 = Clock::now();
      for (int i = 0; i < iters; ++i) op();
      g.barrier();
      best = std::min(best, seconds(t0) / iters);
    }
    return best;
  };

  for (std::size_t bytes : cfg.sizes) {
    const int iters = iterations(bytes);
    at::Tensor t = at::ones({static_cast<int64_t>(bytes / 4)});
    std::vector<at::Tensor> v{t};
    const double dec_s = timed(iters, [&] { g.allreduce_sum(t); });
    const double raw_s = timed(iters, [&] { raw->allreduce(v)->wait(); });
    if (rank == 0)
      write_line(out_fd, dec::str("allreduce ", world, " ", bytes, " ", dec_s, " ", raw_s));
  }
  if (world != 2) return;
  at::Tensor ack = at::zeros({1});
  std::vector<at::Tensor> ackv{ack};
  for (std::size_t bytes : cfg.sizes) {
    const int iters = iterations(bytes);
    at::Tensor t = at::ones({static_cast<int64_t>(bytes / 4)});
    std::vector<at::Tensor> v{t};
    // One direction, k messages back to back, then a one-float ack so the
    // sender's clock covers delivery.
    const double dec_s = timed(1,
                               [&] {
                                 for (int i = 0; i < iters; ++i)
                                   rank == 0 ? g.send(t, 1, i) : g.recv(t, 0, i);
                                 rank == 0 ? g.recv(ack, 1, 1 << 20) : g.send(ack, 0, 1 << 20);
                               }) /
                         iters;
    const double raw_s =
        timed(1,
              [&] {
                for (int i = 0; i < iters; ++i)
                  (rank == 0 ? raw->send(v, 1, i) : raw->recv(v, 0, i))->wait();
                (rank == 0 ? raw->recv(ackv, 1, 1 << 20) : raw->send(ackv, 0, 1 << 20))->wait();
              }) /
        iters;
    if (rank == 0) write_line(out_fd, dec::str("p2p 2 ", bytes, " ", dec_s, " ", raw_s));
  }
  // Small-message round trip.
  constexpr int kPings = 500;
  const double dec_rtt = timed(1,
                               [&] {
                                 for (int i = 0; i < kPings; ++i) {
                                   if (rank == 0) {
                                     g.send(ack, 1, 7);
                                     g.recv(ack, 1, 8);
                                   } else {
                                     g.recv(ack, 0, 7);
                                     g.send(ack, 0, 8);
                                   }
                                 }
                               }) /
                         kPings;
  const double raw_rtt = timed(1,
                               [&] {
                                 for (int i = 0; i < kPings; ++i) {
                                   if (rank == 0) {
                                     raw->send(ackv, 1, 7)->wait();
                                     raw->recv(ackv, 1, 8)->wait();
                                   } else {
                                     raw->recv(ackv, 0, 7)->wait();
                                     raw->send(ackv, 0, 8)->wait();
                                   }
                                 }
                               }) /
                         kPings;
  if (rank == 0) write_line(out_fd, dec::str("rtt 2 4 ", dec_rtt, " ", raw_rtt));
}

// Forks `world` ranks and returns rank 0's result lines.
std::string run_world(int world, const Config& cfg) {
  int port_pipe[2], out_pipe[2];
  if (::pipe(port_pipe) != 0 || ::pipe(out_pipe) != 0) std::exit(2);
  std::vector<pid_t> pids;
  auto spawn = [&](int rank, std::uint16_t port) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(out_pipe[0]);
      int rc = 0;
      try {
        run_rank(rank, world, port, port_pipe[1], out_pipe[1], cfg);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "comm_bench: rank %d: %s\n", rank, e.what());
        rc = 1;
      }
      ::_exit(rc);
    }
    pids.push_back(pid);
  };
  spawn(0, 0);
  char buf[16] = {};
  if (::read(port_pipe[0], buf, sizeof(buf) - 1) <= 0) std::exit(2);
  for (int r = 1; r < world; ++r) spawn(r, static_cast<std::uint16_t>(std::atoi(buf)));
  ::close(out_pipe[1]);
  std::string out = read_all(out_pipe[0]);
  int failed = 0;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  ::close(out_pipe[0]);
  ::close(port_pipe[0]);
  ::close(port_pipe[1]);
  if (failed) std::fprintf(stderr, "comm_bench: %d rank(s) failed\n", failed);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t max_bytes = 64u << 20;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick"))
      max_bytes = 4u << 20;
    else if (!std::strcmp(argv[i], "--max-mib") && i + 1 < argc)
      max_bytes = std::atol(argv[++i]) << 20;
    else {
      std::fprintf(stderr, "usage: comm_bench [--max-mib N] [--quick]\n");
      return 2;
    }
  }
  Config cfg;
  for (std::size_t b = 64u << 10; b <= max_bytes; b *= 4) cfg.sizes.push_back(b);

  std::printf(
      "comm_bench: loopback 127.0.0.1, ranks as forked processes, float32, Gloo via c10d\n");
  std::printf("reference: a raw c10d::ProcessGroupGloo over the same store, same run\n\n");
  std::printf("%-10s %5s %10s %12s %12s %12s %12s %8s\n", "op", "ranks", "size", "time/op",
              "algbw GiB/s", "busbw GiB/s", "raw busbw", "DEC/raw");
  std::string lines;
  for (int world : {2, 3}) lines += run_world(world, cfg);
  double rtt_dec = 0, rtt_raw = 0;
  std::size_t pos = 0;
  while (pos < lines.size()) {
    const std::size_t end = lines.find('\n', pos);
    const std::string line = lines.substr(pos, end - pos);
    pos = end == std::string::npos ? lines.size() : end + 1;
    char kind[16];
    int n;
    double bytes, dec_s, raw_s;
    if (std::sscanf(line.c_str(), "%15s %d %lf %lf %lf", kind, &n, &bytes, &dec_s, &raw_s) != 5)
      continue;
    if (!std::strcmp(kind, "rtt")) {
      rtt_dec = dec_s;
      rtt_raw = raw_s;
      continue;
    }
    const double factor = !std::strcmp(kind, "allreduce") ? 2.0 * (n - 1) / n : 1.0;
    std::printf("%-10s %5d %10s %12s %12.3f %12.3f %12.3f %8.2f\n", kind, n,
                dec::format_bytes(bytes).c_str(), dec::format_seconds(dec_s).c_str(),
                bytes / dec_s / (1u << 30), bytes / dec_s / (1u << 30) * factor,
                bytes / raw_s / (1u << 30) * factor, raw_s / dec_s);
  }
  std::printf("\nround trip, 4 B: DEC %.1f us, raw %.1f us, DEC/raw %.2f\n", rtt_dec * 1e6,
              rtt_raw * 1e6, rtt_raw / rtt_dec);
  std::printf("(p2p: busbw = algbw = one-way throughput; DEC/raw > 1 means DEC is faster)\n");
  return 0;
}
