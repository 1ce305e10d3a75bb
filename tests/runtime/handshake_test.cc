// The job protocol's handshake (runtime/handshake.h, protocol.h) against peers
// that do not follow it: one rank of a job is real (run_job), the other is the
// test, which joins the rendezvous and writes its own hello. A peer of another
// protocol version, or one whose hello is not what the protocol says, is named
// in the real rank's error instead of a hang or a crash.
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "dec/comm/rendezvous.h"
#include "dec/core/error.h"
#include "dec/core/version.h"
#include "dec/runtime/job.h"
#include "dec/runtime/protocol.h"

namespace dec::runtime {
namespace {

using nlohmann::json;

const char* kNodes[] = {"device", "edge"};

JobOptions options(int rank, uint16_t port) {
  JobOptions o;
  o.rendezvous.init.master_port = port;
  o.rendezvous.init.rank = rank;
  o.rendezvous.init.world_size = 2;
  o.rendezvous.node_name = kNodes[rank];
  o.rendezvous.join_timeout = std::chrono::seconds(20);
  o.timeout = std::chrono::seconds(2);
  o.plan_path = "never-read.json";  // the handshake fails before rank 0 reads it
  o.dataset = "synthetic";
  o.input_shape = {1, 28, 28};
  o.synthetic_size = 64;
  o.evaluate = false;
  o.max_steps = 1;
  return o;
}

json hello_of(int protocol, int rank) {
  return {{"protocol", protocol}, {"rank", rank}, {"node", kNodes[rank]}, {"tier", ""},
          {"version", kVersion}, {"model", "fmnist-cnn"}, {"model_hash", "x"}, {"speed", 1}};
}

// Runs rank 0 for real; the test plays rank 1 and writes `hello` as its hello.
std::string rank0_error_against(const std::string& hello) {
  std::promise<uint16_t> port;
  std::string error = "(no error)";
  std::thread rank0([&] {
    JobOptions o = options(0, 0);
    o.rendezvous.on_listening = [&](uint16_t p) { port.set_value(p); };
    try {
      run_job(o, nullptr);
    } catch (const Error& e) {
      error = e.what();
    }
  });
  {
    comm::Rendezvous rv = comm::rendezvous(options(1, port.get_future().get()).rendezvous);
    rv.store().prefixed("job").set(keys::hello(1), hello);
    rank0.join();
  }
  return error;
}

TEST(Handshake, RankZeroNamesAPeerOfAnotherProtocol) {
  const std::string error = rank0_error_against(hello_of(kJobProtocolVersion + 1, 1).dump());
  EXPECT_NE(error.find("job protocol versions differ"), std::string::npos) << error;
  EXPECT_NE(error.find("rank 1"), std::string::npos) << error;
  EXPECT_NE(error.find("protocol " + std::to_string(kJobProtocolVersion + 1)), std::string::npos) << error;
}

TEST(Handshake, AHelloWithoutAVersionIsProtocolZero) {
  json hello = hello_of(0, 1);
  hello.erase("protocol");
  const std::string error = rank0_error_against(hello.dump());
  EXPECT_NE(error.find("job protocol versions differ"), std::string::npos) << error;
  EXPECT_NE(error.find("protocol 0"), std::string::npos) << error;
}

TEST(Handshake, MalformedHelloNamesThePeerAndTheKey) {
  for (const std::string hello : {std::string("{not json"), hello_of(kJobProtocolVersion, 1).dump().substr(0, 20),
                                  json{{"protocol", kJobProtocolVersion}, {"node", 7}}.dump()}) {
    const std::string error = rank0_error_against(hello);
    EXPECT_NE(error.find("malformed message from a peer"), std::string::npos) << hello << ": " << error;
    EXPECT_NE(error.find("rank 1"), std::string::npos) << error;
    EXPECT_NE(error.find(keys::hello(1)), std::string::npos) << error;
  }
}

TEST(Handshake, EveryRankChecksRankZerosProtocol) {
  // The test is rank 0: it hosts the store and speaks another protocol.
  std::promise<uint16_t> port;
  std::promise<void> rank1_done;
  std::thread fake([&] {
    comm::RendezvousOptions ro = options(0, 0).rendezvous;
    ro.on_listening = [&](uint16_t p) { port.set_value(p); };
    comm::Rendezvous rv = comm::rendezvous(ro);
    rv.store().prefixed("job").set(keys::hello(0), hello_of(kJobProtocolVersion + 1, 0).dump());
    rank1_done.get_future().wait();  // the store stays up until rank 1 has left
  });
  std::string error = "(no error)";
  try {
    run_job(options(1, port.get_future().get()), nullptr);
  } catch (const Error& e) {
    error = e.what();
  }
  rank1_done.set_value();
  fake.join();
  EXPECT_NE(error.find("job protocol versions differ"), std::string::npos) << error;
  EXPECT_NE(error.find("rank 0"), std::string::npos) << error;
}

}  // namespace
}  // namespace dec::runtime
