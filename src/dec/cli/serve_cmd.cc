// `dec serve`: a trained model behind the Open Inference Protocol (KServe v2)
// over HTTP (docs/inference.md), until SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

#include "dec/cli/cli_util.h"
#include "dec/cli/serve_launch.h"
#include "dec/core/error.h"
#include "dec/cluster/load.h"
#include "dec/model/model.h"
#include "dec/profile/profile.h"
#include "dec/serve/energy.h"
#include "dec/serve/server.h"
#include "dec/serve/served_model.h"
#include "dec/serve/split_inputs.h"

namespace dec::cli {

namespace {

int g_serve_stop_pipe[2] = {-1, -1};
volatile sig_atomic_t g_serve_stop_signal = 0;

void on_serve_stop_signal(int sig) {
  g_serve_stop_signal = sig;
  char c = 1;
  ssize_t ignored = ::write(g_serve_stop_pipe[1], &c, 1);  // async-signal-safe
  (void)ignored;
}

struct ServeFlags {
  serve::ServedModelOptions model;
  serve::ServeOptions server;
  std::string input;
  std::string listen = "127.0.0.1:8000";
  int threads = 0;
  double max_body_mb = 64;
  std::string tier = "cloud";
  std::string split;             // "s1,s2"
  std::string profile, cluster, device;
  bool no_fallback = false;
  bool emulate = false;
  bool real_links = false;
  double batch_delay_ms = 0;
};

void parse_listen(const std::string& listen, serve::ServeOptions& o) {
  const auto colon = listen.rfind(':');
  DEC_CHECK(colon != std::string::npos && colon > 0 && colon + 1 < listen.size(), ConfigError,
            "invalid flag", "--listen", "expected HOST:PORT, got '", listen, "'");
  o.host = listen.substr(0, colon);
  if (o.host.size() > 2 && o.host.front() == '[' && o.host.back() == ']') o.host = o.host.substr(1, o.host.size() - 2);
  char* end = nullptr;
  const long port = std::strtol(listen.c_str() + colon + 1, &end, 10);
  DEC_CHECK(*end == '\0' && port >= 0 && port <= 65535, ConfigError, "invalid flag", "--listen",
            "port must be 0..65535, got '", listen.substr(colon + 1), "'");
  o.port = static_cast<int>(port);
}

// --tier, --split, --cluster/--device/--profile into the server's chain options.
void configure_tiers(ServeFlags& f, const serve::ServedModel& model) {
  serve::ServeOptions& o = f.server;
  o.tier = f.tier == "device" ? 0 : f.tier == "edge" ? 1 : 2;
  o.fallback = !f.no_fallback;
  if (!f.split.empty()) {
    const auto comma = f.split.find(',');
    DEC_CHECK(comma != std::string::npos, ConfigError, "invalid flag", "--split", "expected s1,s2, got '", f.split, "'");
    char *end1 = nullptr, *end2 = nullptr;
    const std::string a = f.split.substr(0, comma), b = f.split.substr(comma + 1);
    const unsigned long s1 = std::strtoul(a.c_str(), &end1, 10), s2 = std::strtoul(b.c_str(), &end2, 10);
    DEC_CHECK(!a.empty() && !b.empty() && *end1 == '\0' && *end2 == '\0', ConfigError, "invalid flag", "--split",
              "expected s1,s2 (block indices), got '", f.split, "'");
    o.split = {s1, s2};
  }
  if (f.cluster.empty()) {
    DEC_CHECK(f.profile.empty(), ConfigError, "invalid flags", "--profile", "needs --cluster and --device");
    DEC_CHECK(!f.emulate, ConfigError, "invalid flags", "--emulate", "needs --cluster, --device and --profile");
    return;
  }
  DEC_CHECK(!f.emulate || !f.profile.empty(), ConfigError, "invalid flags", "--emulate",
            "needs --profile (the compute to emulate)");
  DEC_CHECK(!f.real_links || f.emulate, ConfigError, "invalid flags", "--real-links",
            "needs --emulate (it keeps the emulated latency and leaves the rate to the real link)");
  DEC_CHECK(!f.device.empty(), ConfigError, "invalid flags", "--cluster", "needs --device (whose chain to serve)");
  const serve::TierChain chain = serve::tier_chain(cluster::load_cluster(f.cluster), f.device);
  o.prior = chain.links;
  if (o.node == "local") o.node = chain.nodes[o.tier];
  if (f.profile.empty()) return;
  const profile::ModelProfile p = profile::load_profile(f.profile);
  DEC_CHECK(p.model_hash.empty() || p.model_hash == model.hash(), Mismatch, "the profile is of another model",
            f.profile, "model hash ", p.model_hash.substr(0, 12), ", the served model's ", model.hash().substr(0, 12));
  serve::SplitModel split_model = serve::make_split_model(p, chain.speeds);
  if (model.int8()) {
    // This tier's blocks run int8: the profile's fp32 times at its speed, each
    // scaled by the int8/fp32 ratio of that block measured at load.
    std::vector<double>& t = split_model.block_s[o.tier];
    for (size_t l = 0; l < t.size() && l < model.int8_block_s().size(); ++l) {
      const double fp32 = model.fp32_block_s()[l], int8 = model.int8_block_s()[l];
      if (fp32 > 0 && int8 > 0) t[l] *= int8 / fp32;
    }
  }
  if (f.emulate) {
    o.emulate_block_s = split_model.block_s[o.tier];
    o.emulate_link = !o.next.empty();
    o.emulate_link_rate = !f.real_links;
  }
  if (o.tier == 0) {
    // The energy model's clock: this machine's, as the measured energy reads it.
    serve::EnergyModel energy;
    energy.ghz = serve::read_cpu_clock(energy.ghz).ghz;
    o.decider = std::make_shared<serve::SplitDecider>(std::move(split_model), energy);
  }
}

void run_serve(ServeFlags& f) {
  parse_listen(f.listen, f.server);
  DEC_CHECK(f.max_body_mb > 0, ConfigError, "invalid flag", "--max-body-mb", "must be > 0, got ", f.max_body_mb);
  f.server.max_body_bytes = static_cast<size_t>(f.max_body_mb * 1024 * 1024);
  f.server.batch_delay_s = f.batch_delay_ms / 1e3;
  if (!f.input.empty()) f.model.input = model::parse_shape(f.input, "--input");
  if (f.threads > 0) set_threads(f.threads);
  DEC_CHECK(!f.model.checkpoint.empty() || !f.model.torchscript.empty(), ConfigError, "invalid flags", "dec serve",
            "give --checkpoint or --torchscript");
  auto model = std::shared_ptr<const serve::ServedModel>(serve::ServedModel::load(f.model));
  if (model->int8()) {
    std::string blocks;
    for (size_t i = 0; i < model->num_blocks(); ++i) {
      blocks += (i ? ", " : "") + model->block_names()[i] + (model->int8_block(i) ? "" : " (fp32)") + " " +
                std::to_string(1e3 * model->int8_block_s()[i]).substr(0, 5) + " ms int8 / " +
                std::to_string(1e3 * model->fp32_block_s()[i]).substr(0, 5) + " ms fp32";
    }
    std::fprintf(stderr, "dec serve: int8 (%s engine), one sample per block: %s\n", model->int8_engine().c_str(),
                 blocks.c_str());
  }
  configure_tiers(f, *model);
  // SIGTERM and SIGINT: the handler writes to a pipe that a watcher thread
  // reads; the watcher stops the server outside signal context.
  DEC_CHECK(::pipe2(g_serve_stop_pipe, O_CLOEXEC | O_NONBLOCK) == 0, IoError, "cannot create a pipe",
            "dec serve", std::strerror(errno));
  struct sigaction action {};
  action.sa_handler = on_serve_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  serve::InferenceServer server(model, f.server);
  std::fprintf(stderr, "dec serve: %s (%zu blocks, checkpoint %s step %lld) on http://%s:%d/v2/models/%s\n",
               model->name().c_str(), model->num_blocks(), model->checkpoint_dir().c_str(),
               static_cast<long long>(model->checkpoint_step()), f.server.host.c_str(), server.port(),
               model->name().c_str());
  if (!f.server.next.empty()) {
    std::fprintf(stderr, "dec serve: %s tier '%s', next tier %s, split %s\n", f.tier.c_str(), f.server.node.c_str(),
                 f.server.next.c_str(),
                 f.server.tier == 1   ? "the device's, sent with each request"
                 : !f.split.empty()   ? f.split.c_str()
                 : f.server.decider ? (f.server.objective + "-optimal per request").c_str()
                                    : "device-only unless the request's dec_split says otherwise");
  }
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    bool announced = false;
    while (!done) {
      pollfd p{g_serve_stop_pipe[0], POLLIN, 0};
      if (::poll(&p, 1, 100) == 1) {
        std::fprintf(stderr, "dec serve: stopping (%s)\n", g_serve_stop_signal == SIGTERM ? "SIGTERM" : "SIGINT");
        server.stop();
        return;
      }
      if (!announced && server.ready()) {
        std::fprintf(stderr, "dec serve: ready (%d warm-up passes done)\n", f.server.warmup);
        announced = true;
      }
    }
  });
  server.run();
  done = true;
  watcher.join();
  server.stop();
}

// The flags of serving under load (slots, queue, deadlines, batching, limits),
// the device's battery and the access log.
void add_load_flags(CLI::App* cmd, const std::shared_ptr<ServeFlags>& f) {
  cmd->add_option("--slots", f->server.slots, "Forward passes at once")->capture_default_str();
  cmd->add_option("--max-queue", f->server.max_queue,
                  "Requests waiting for a forward pass; one more answers 503")
      ->capture_default_str();
  cmd->add_option("--queue-timeout", f->server.queue_timeout_s,
                  "Seconds a request may wait for a forward pass before it answers 503")
      ->capture_default_str();
  cmd->add_option("--request-timeout", f->server.request_timeout_s,
                  "Seconds from receipt by which a request must be answered, else 504 (0: none); a request's\n"
                  "\"timeout\" parameter (microseconds) may shorten it; it bounds the next tier's answer too")
      ->capture_default_str();
  cmd->add_option("--max-batch", f->server.max_batch,
                  "Dynamic batching: rows per forward pass; requests for the same blocks run together (1: off)")
      ->capture_default_str();
  cmd->add_option("--batch-delay-ms", f->batch_delay_ms,
                  "Dynamic batching: the longest a request waits for others to join its forward pass")
      ->capture_default_str();
  cmd->add_option("--max-body-mb", f->max_body_mb, "Largest request body in MiB; larger answers 413")
      ->capture_default_str();
  cmd->add_option("--max-rows", f->server.max_rows, "Samples per request; more answers 400")->capture_default_str();
  cmd->add_option("--warmup", f->server.warmup, "Forward passes before /v2/health/ready answers 200")
      ->capture_default_str();
  cmd->add_option("--http-threads", f->server.http_threads,
                  "Connections served at once (a kept-alive connection holds one)")
      ->capture_default_str();
  cmd->add_option("--battery", f->server.battery,
                  "device: the battery's level 0..1 (a request's dec_battery overrides it; -1: unknown)")
      ->capture_default_str();
  cmd->add_option("--battery-threshold", f->server.battery_threshold,
                  "device: below this battery level the split minimises energy within --latency-bound")
      ->capture_default_str();
  cmd->add_option("--access-log", f->server.access_log,
                  "One line per infer request to this file ('-': stderr; default: none)");
  cmd->add_option("--log-format", f->server.log_format, "The access log's lines: json or text")
      ->check(CLI::IsMember({"json", "text"}))
      ->capture_default_str();
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto f = std::make_shared<ServeFlags>();
  auto* cmd = app.add_subcommand(
      "serve",
      "Serve a trained model with the Open Inference Protocol (KServe v2) over HTTP/JSON:\n"
      "health, metadata, infer (JSON or binary tensors), Prometheus metrics (docs/inference.md).\n"
      "Across tiers, each tier runs a server and the device splits each request's forward pass:\n"
      "the device runs blocks [0, s1), the edge [s1, s2), the cloud the rest.\n"
      "Example: dec serve --model fmnist-cnn --checkpoint ckpt --listen 127.0.0.1:8000\n"
      "         curl localhost:8000/v2/models/fmnist-cnn\n"
      "Example: dec serve ... --tier cloud --listen 127.0.0.1:8002\n"
      "         dec serve ... --tier edge --listen 127.0.0.1:8001 --next http://127.0.0.1:8002\n"
      "         dec serve ... --tier device --listen 127.0.0.1:8000 --next http://127.0.0.1:8001 \\\n"
      "             --cluster scenarios/S2.yaml --device dev0 --profile w1.json");
  cmd->add_option("--model", f->model.model, "Zoo model (see `dec models`)")->required();
  auto* checkpoint = cmd->add_option("--checkpoint", f->model.checkpoint,
                                     "Checkpoint of `dec train` or `dec launch` (root or step directory)");
  cmd->add_option("--torchscript", f->model.torchscript,
                  "Instead of --checkpoint: a file of Python's torch.jit.save, served under --model's name;\n"
                  "an nn.Sequential is a chain of its children, anything else one block (needs --input)")
      ->excludes(checkpoint)
      ->check(CLI::ExistingFile);
  cmd->add_option("--input", f->input, "Sample shape the model was trained for, e.g. 3x96x96 (default: the model's)");
  cmd->add_option("--classes", f->model.classes, "Classes the model was trained for (default: the model's)");
  cmd->add_flag("--int8", f->model.int8,
                "Run the blocks int8 (static post-training quantisation, calibrated on the training data;\n"
                "meant for the device tier)");
  cmd->add_option("--int8-engine", f->model.int8_engine, "With --int8: LibTorch's quantised engine")
      ->check(CLI::IsMember({"onednn", "qnnpack"}))
      ->capture_default_str();
  cmd->add_option("--calibration-batches", f->model.calibration_batches,
                  "With --int8: batches of 32 training samples that calibrate the activation ranges")
      ->capture_default_str();
  cmd->add_option("--calibration-data", f->model.calibration_data,
                  "With --int8: fashion-mnist (its training split) or synthetic")
      ->check(CLI::IsMember({"fashion-mnist", "synthetic"}))
      ->capture_default_str();
  cmd->add_option("--listen", f->listen, "HOST:PORT to serve on (port 0: any free port)")->capture_default_str();
  cmd->add_option("--name", f->server.node, "This server's name in responses that ask where they ran")
      ->capture_default_str();
  cmd->add_option("--threads", f->threads, "Torch intra-op threads (default: all cores)");
  add_load_flags(cmd, f);
  cmd->add_option("--tier", f->tier, "This server's tier: device, edge or cloud (a lone server: cloud)")
      ->check(CLI::IsMember({"device", "edge", "cloud"}))
      ->capture_default_str();
  cmd->add_option("--next", f->server.next, "device, edge: the next tier's server, http://HOST:PORT");
  cmd->add_option("--split", f->split, "device: a fixed split s1,s2 (blocks [0,s1) here, [s1,s2) on the edge)");
  cmd->add_option("--cluster", f->cluster, "Cluster spec: the tiers' speeds and the links' rates (priors)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--device", f->device, "With --cluster: the device node whose chain this server is on");
  cmd->add_option("--profile", f->profile,
                  "device: block profile (`dec profile`) that the split decision scales to each tier's speed")
      ->check(CLI::ExistingFile);
  cmd->add_option("--objective", f->server.objective,
                  "device: the split minimises latency, or device energy under --latency-bound")
      ->check(CLI::IsMember({"latency", "energy"}))
      ->capture_default_str();
  cmd->add_option("--latency-bound", f->server.latency_bound_s, "With --objective energy: seconds")
      ->capture_default_str();
  cmd->add_option("--next-timeout", f->server.next_timeout_s, "Seconds to wait for the next tier")
      ->capture_default_str();
  cmd->add_option("--probe-interval", f->server.probe_interval_s,
                  "device, edge: probe the next hop after this many idle seconds (0: never)")
      ->capture_default_str();
  cmd->add_flag("--emulate", f->emulate,
                "Run at this tier's speed in --cluster (the --profile's times scaled to it) and send to\n"
                "the next tier at the spec's link rate and latency, on one machine");
  cmd->add_flag("--real-links", f->real_links,
                "With --emulate on real shaped links (the namespace cluster's tc): emulate the spec's\n"
                "latency only, not its rate");
  cmd->add_flag("--no-fallback", f->no_fallback,
                "When the next tier fails, answer 503 instead of finishing the forward pass here");
  auto all_tiers = std::make_shared<bool>(false);
  cmd->add_flag("--all-tiers", *all_tiers,
                "Start the device, edge and cloud of --device's chain in --cluster on this machine, one\n"
                "`dec serve` each with these flags: the device on --listen, the edge and cloud on the next\n"
                "two ports (docs/inference.md, \"One command for all tiers\")");
  cmd->callback([f, cmd, all_tiers] {
    if (*all_tiers) return serve_all_tiers(*cmd, {f->cluster, f->device, f->listen, f->model.model});
    run_serve(*f);
  });
}

}  // namespace dec::cli
