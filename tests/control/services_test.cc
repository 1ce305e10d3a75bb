// The control plane over real PostgreSQL, Redis and RabbitMQ (built into
// control_services_test only): two instances sharing one database and one
// Redis never serve a value older than a write; notifications survive a broker
// outage; reminders go through delayed messages; and 10,000 decisions reach a
// consumer that is killed -9 mid-stream, through a broker restart, each once.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "api_fixture.h"
#include "dec/control/broker.h"
#include "dec/control/processed_ids.h"
#include "dec/core/process.h"

namespace dec::control::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;
using test::RabbitMqServer;

Reply http(int port, const std::string& method, const std::string& target, const std::string& token,
           const nlohmann::json& body = nullptr) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(10, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  std::string text = body.is_null() ? std::string() : body.dump();
  httplib::Result r(nullptr, httplib::Error::Unknown);
  if (method == "GET") r = c.Get(target, headers);
  else if (method == "POST") r = c.Post(target, headers, text, "application/json");
  else if (method == "PATCH") r = c.Patch(target, headers, text, "application/json");
  else if (method == "DELETE") r = c.Delete(target, headers);
  Reply out;
  if (!r) return out;
  out.status = r->status;
  out.body = nlohmann::json::parse(r->body, nullptr, false);
  return out;
}

// Waits until pred() holds; false after timeout_s.
template <typename Pred>
bool eventually(Pred pred, double timeout_s) {
  auto deadline = SteadyClock::now() + std::chrono::duration<double>(timeout_s);
  while (!pred()) {
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Broker names of one test, so that tests on the shared broker never meet.
BrokerOptions broker_options(const std::string& name, const std::string& url = test_amqp_url()) {
  BrokerOptions b;
  b.url = url;
  b.exchange = name + ".events";
  b.delay_exchange = b.delay_queue = name + ".remind";
  b.reminder_queue = name + ".reminders";
  b.live_exchange = name + ".events.live";
  b.unrouted_exchange = b.unrouted_queue = name + ".unrouted";
  return b;
}

// A consumer's view of the control plane's exchange: a queue of its own bound
// to the given topics.
services::AmqpTopology consumer_topology(const BrokerOptions& b, const std::string& queue,
                                         std::vector<std::string> topics) {
  services::AmqpTopology t = broker_topology(b);
  t.queues = {{queue, std::move(topics)}};
  return t;
}

services::AmqpOptions amqp(const BrokerOptions& b) {
  services::AmqpOptions o;
  o.url = b.url;
  return o;
}

// ---- two instances over one PostgreSQL and one Redis --------------------------

class TwoInstances : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string db = fresh_postgres_database(), prefix = unique_prefix();
    for (int i = 0; i < 2; ++i) {
      ServerOptions o;
      o.data_dir = dirs_[i].path();
      o.port = 0;
      o.db_url = db;
      o.redis_url = test_redis_url();
      o.redis_prefix = prefix;
      o.threads = 4;
      o.clock = &clock_;
      if (i == 0) o.admin = "admin@example.org";
      configure(o, prefix);
      servers_[i] = std::make_unique<ControlServer>(o);
      servers_[i]->start();
    }
  }
  virtual void configure(ServerOptions&, const std::string&) {}
  int port(int i) { return servers_[i]->port(); }
  // The code is requested on instance `ask` and checked on `check`: codes live in Redis.
  std::string login(const std::string& address, int ask, int check) {
    EXPECT_EQ(http(port(ask), "POST", "/api/v1/auth/code", "", {{"address", address}}).status, 202);
    std::string code = last_code_in(servers_[ask]->codes_file(), address);
    Reply s = http(port(check), "POST", "/api/v1/auth/session", "", {{"address", address}, {"code", code}});
    EXPECT_EQ(s.status, 201) << s.body.dump();
    return s.body.value("token", "");
  }

  TempDir dirs_[2];
  ManualClock clock_;
  std::unique_ptr<ControlServer> servers_[2];
};

TEST_F(TwoInstances, AWriteOnOneIsNeverServedStaleByTheOther) {
  std::string admin = login("admin@example.org", 0, 1);
  ASSERT_EQ(http(port(1), "POST", "/api/v1/departments", admin, {{"name", "lab"}}).status, 201);
  ASSERT_EQ(http(port(0), "GET", "/api/v1/departments", admin).body["items"].size(), 1u);
  for (int round = 0; round < 20; ++round) {
    int a = round % 2, b = 1 - a;  // writer and reader swap every round
    int64_t pending = http(port(b), "GET", "/api/v1/stats", admin).body["pending_requests"];
    Reply filed = http(port(a), "POST", "/api/v1/requests", admin, enrol_body("n" + std::to_string(round)));
    ASSERT_EQ(filed.status, 201) << filed.body.dump();
    EXPECT_EQ(http(port(b), "GET", "/api/v1/stats", admin).body["pending_requests"], pending + 1);
    std::string node = "/api/v1/nodes/" + std::to_string(filed.body["node_id"].get<int64_t>());
    EXPECT_EQ(http(port(b), "GET", node, admin).body["state"], "pending");  // now cached on b
    std::string decide = "/api/v1/requests/" + std::to_string(filed.body["id"].get<int64_t>()) +
                         (round % 3 ? "/approve" : "/reject");
    ASSERT_EQ(http(port(a), "POST", decide, admin, {{"reason", "r"}}).status, 200);
    EXPECT_EQ(http(port(b), "GET", node, admin).body["state"], round % 3 ? "available" : "rejected");
    EXPECT_EQ(http(port(b), "GET", "/api/v1/stats", admin).body["pending_requests"], pending);
  }
  auto stats = servers_[1]->cache().stats();
  EXPECT_GT(stats.invalidations_received, 0u);
  std::printf("two instances: cache of instance b: %llu L1 hits, %llu L2 hits, %llu loads, "
              "%llu invalidations heard\n",
              static_cast<unsigned long long>(stats.l1_hits), static_cast<unsigned long long>(stats.l2_hits),
              static_cast<unsigned long long>(stats.loads),
              static_cast<unsigned long long>(stats.invalidations_received));
}

TEST_F(TwoInstances, ALogoutOrADisableOnOneEndsTheSessionOnBoth) {
  std::string admin = login("admin@example.org", 0, 0);
  ASSERT_EQ(http(port(0), "POST", "/api/v1/users", admin, {{"address", "op@example.org"}}).status, 201);
  std::string op = login("op@example.org", 1, 0);
  std::string op2 = login("op@example.org", 0, 1);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(http(port(i), "GET", "/api/v1/me", op).status, 200);  // cached
  ASSERT_EQ(http(port(0), "DELETE", "/api/v1/auth/session", op).status, 204);
  EXPECT_EQ(http(port(1), "GET", "/api/v1/me", op).status, 401);
  EXPECT_EQ(http(port(1), "GET", "/api/v1/me", op2).status, 200);
  Reply users = http(port(1), "GET", "/api/v1/users?role=operator", admin);
  std::string id = std::to_string(users.body["items"][0]["id"].get<int64_t>());
  ASSERT_EQ(http(port(1), "PATCH", "/api/v1/users/" + id, admin, {{"disabled", true}}).status, 200);
  EXPECT_EQ(http(port(0), "GET", "/api/v1/me", op2).status, 401);
}

// A decision made through instance 0 shows on the event stream of each
// instance exactly once, whichever relay delivers its row (they share the
// outbox) and although a relay's rows also come back to it.
void expect_each_decision_once_on_both(TwoInstances& t, std::unique_ptr<ControlServer> (&servers)[2],
                                       const std::string& admin) {
  std::shared_ptr<Subscription> streams[2] = {servers[0]->hub().subscribe(), servers[1]->hub().subscribe()};
  int port0 = servers[0]->port();
  ASSERT_EQ(http(port0, "POST", "/api/v1/departments", admin, {{"name", "lab"}}).status, 201);
  std::set<int64_t> decided;
  for (int i = 0; i < 3; ++i) {
    Reply filed = http(port0, "POST", "/api/v1/requests", admin, enrol_body("live" + std::to_string(i)));
    ASSERT_EQ(filed.status, 201) << filed.body.dump();
    int64_t id = filed.body["id"];
    ASSERT_EQ(http(port0, "POST", "/api/v1/requests/" + std::to_string(id) + "/approve", admin).status, 200);
    decided.insert(id);
  }
  for (int i = 0; i < 2; ++i) {
    std::map<int64_t, int> approvals;  // request id -> times on the stream
    std::set<int64_t> ids;
    int repeated = 0;
    auto deadline = SteadyClock::now() + std::chrono::seconds(10);
    // Until every approval came, then 0.5 s more for any repetition.
    for (auto m = streams[i]->next(500); m || (approvals.size() < decided.size() && SteadyClock::now() < deadline);
         m = streams[i]->next(500)) {
      if (!m) continue;
      repeated += !ids.insert(m->id).second;
      if (m->topic != "request.approved") continue;
      ++approvals[nlohmann::json::parse(m->payload)["entity_id"].get<int64_t>()];
    }
    EXPECT_EQ(repeated, 0) << "instance " << i;
    ASSERT_EQ(approvals.size(), decided.size()) << "instance " << i;
    for (const auto& [request, times] : approvals) {
      EXPECT_TRUE(decided.count(request));
      EXPECT_EQ(times, 1) << "instance " << i << ", request " << request;
    }
  }
  (void)t;
}

TEST_F(TwoInstances, ADecisionShowsOnceOnEveryInstancesEventStreamThroughRedis) {
  expect_each_decision_once_on_both(*this, servers_, login("admin@example.org", 0, 0));
}

// The same over RabbitMQ (no Redis): the instances' live queues on the broker.
class TwoBrokerInstances : public TwoInstances {
 protected:
  void configure(ServerOptions& o, const std::string& prefix) override {
    std::string name = prefix.substr(0, prefix.size() - 1);
    o.redis_url.clear();
    o.amqp_url = test_amqp_url();
    o.broker = broker_options(name);
    o.control.remind_after_ms = 0;
  }
};

TEST_F(TwoBrokerInstances, ADecisionShowsOnceOnEveryInstancesEventStreamThroughRabbitMq) {
  expect_each_decision_once_on_both(*this, servers_, login("admin@example.org", 0, 1));
}

TEST_F(TwoInstances, LoginLimitsCountOnEveryInstance) {
  int accepted = 0;
  for (int i = 0; i < 8; ++i) {
    int s = http(port(i % 2), "POST", "/api/v1/auth/code", "", {{"address", "admin@example.org"}}).status;
    accepted += s == 202;
  }
  EXPECT_EQ(accepted, 5);  // codes_per_address, over both instances
}

// ---- RabbitMQ ------------------------------------------------------------------

class ControlBroker : public ::testing::Test {
 protected:
  void start(int64_t remind_after_ms) {
    name_ = unique_prefix();
    name_.pop_back();  // no ':' in broker names
    ServerOptions o;
    o.data_dir = dir_.path();
    o.port = 0;
    o.db_url = fresh_postgres_database();
    o.amqp_url = test_amqp_url();
    o.broker = broker_options(name_);
    o.control.remind_after_ms = remind_after_ms;
    o.relay.poll_ms = 100;
    o.threads = 4;
    server_ = std::make_unique<ControlServer>(o);
    org_ = seed_org(server_->control());
  }
  TempDir dir_;
  std::string name_;
  std::unique_ptr<ControlServer> server_;
  Org org_;
};

// The broker down: decisions wait in the outbox (the event stream still gets
// them), and reach RabbitMQ once it is back.
TEST_F(ControlBroker, ABrokerOutageDelaysNotificationsAndLosesNone) {
  start(0);
  BrokerOptions b = broker_options(name_);
  auto t = consumer_topology(b, name_ + ".decisions", {"request.approved"});
  std::set<std::string> got;
  services::AmqpConsumer consumer(amqp(b), t, t.queues[0].name,
                                  [&](const services::AmqpDelivery& d) { got.insert(d.message.id); });
  auto events = server_->hub().subscribe();
  Control& control = server_->control();
  RabbitMqServer::shared().stop();
  constexpr int kDecisions = 30;
  for (int i = 0; i < kDecisions; ++i) {
    auto r = control.file_request(org_.op, enrol_body("down-" + std::to_string(i)));
    control.decide(org_.leader, r["id"], true, "", std::nullopt);
  }
  int on_stream = 0;
  for (auto m = events->next(2000); m; m = events->next(500)) on_stream += m->topic == "request.approved";
  EXPECT_GT(scalar(control.db(), "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL"), 0);
  EXPECT_GT(server_->relay().failures(), 0);
  RabbitMqServer::shared().start();
  EXPECT_TRUE(eventually([&] { consumer.poll(0.1); return got.size() == kDecisions; }, 60));
  EXPECT_EQ(scalar(control.db(), "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL"), 0);
  // The stream saw each row once (a batch that waits for the broker is not repeated on it).
  EXPECT_GE(on_stream, 1);
  EXPECT_LE(on_stream, kDecisions);
  std::printf("broker outage: %d decisions, %zu delivered after the restart, %lld relay failures, "
              "%d on the event stream while the broker was down\n",
              kDecisions, got.size(), static_cast<long long>(server_->relay().failures()), on_stream);
}

// With no queue bound, a decision's message waits in the unrouted queue (the
// exchange's alternate exchange) instead of being dropped; once a queue binds
// its topic, it goes there and no longer to the unrouted queue.
TEST_F(ControlBroker, UnroutableNotificationsWaitInTheUnroutedQueue) {
  start(0);
  BrokerOptions b = broker_options(name_);
  Control& control = server_->control();
  auto first = control.file_request(org_.op, enrol_body("unbound"));
  control.decide(org_.leader, first["id"], true, "", std::nullopt);
  std::map<std::string, std::string> unrouted;  // message id -> routing key
  services::AmqpConsumer parked(amqp(b), broker_topology(b), b.unrouted_queue,
                                [&](const services::AmqpDelivery& d) {
                                  unrouted[d.message.id] = d.message.routing_key;
                                });
  int64_t approval = scalar(control.db(), "SELECT MAX(id) FROM outbox WHERE topic = 'request.approved'");
  ASSERT_TRUE(eventually([&] { parked.poll(0.1); return unrouted.count(std::to_string(approval)) > 0; }, 10));
  EXPECT_EQ(unrouted[std::to_string(approval)], "request.approved");

  auto t = consumer_topology(b, name_ + ".decisions", {"request.approved"});
  std::set<std::string> routed;
  services::AmqpConsumer consumer(amqp(b), t, t.queues[0].name,
                                  [&](const services::AmqpDelivery& d) { routed.insert(d.message.id); });
  auto second = control.file_request(org_.op, enrol_body("bound"));
  control.decide(org_.leader, second["id"], true, "", std::nullopt);
  int64_t approval2 = scalar(control.db(), "SELECT MAX(id) FROM outbox WHERE topic = 'request.approved'");
  ASSERT_TRUE(eventually([&] { consumer.poll(0.1); return routed.count(std::to_string(approval2)) > 0; }, 10));
  // The second request's filing (no queue binds it) went before its approval: once it is
  // in the unrouted queue, so would the approval be.
  int64_t filed2 = scalar(control.db(), "SELECT MAX(id) FROM outbox WHERE topic = 'request.filed'");
  EXPECT_TRUE(eventually([&] { parked.poll(0.1); return unrouted.count(std::to_string(filed2)) > 0; }, 10));
  for (int i = 0; i < 5; ++i) parked.poll(0.1);
  EXPECT_EQ(unrouted.count(std::to_string(approval2)), 0u);
  EXPECT_EQ(routed.size(), 1u);
}

// An exchange declared before without the alternate exchange: the broker
// refuses the redeclaration and the control plane does not start.
TEST_F(ControlBroker, AnExchangeWithoutTheAlternateExchangeStopsTheStart) {
  std::string name = unique_prefix();
  name.pop_back();
  BrokerOptions b = broker_options(name);
  services::AmqpTopology old = broker_topology(b);
  old.unrouted_exchange.clear();
  old.live_exchange.clear();
  services::AmqpPublisher(amqp(b), old).publish({});
  ServerOptions o;
  o.data_dir = dir_.path();
  o.port = 0;
  o.db_url = fresh_postgres_database();
  o.amqp_url = test_amqp_url();
  o.broker = b;
  o.threads = 4;
  try {
    ControlServer server(o);
    ADD_FAILURE() << "started";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("PRECONDITION_FAILED"), std::string::npos) << e.what();
  }
}

// A filed request schedules a delayed message; when it comes due, a request
// still pending reminds once, one decided meanwhile does not.
TEST_F(ControlBroker, RemindersComeAsDelayedMessages) {
  start(1500);
  BrokerOptions b = broker_options(name_);
  auto t = consumer_topology(b, name_ + ".reminded", {"request.reminder"});
  std::vector<std::string> reminded;
  services::AmqpConsumer consumer(amqp(b), t, t.queues[0].name,
                                  [&](const services::AmqpDelivery& d) { reminded.push_back(d.message.body); });
  Control& control = server_->control();
  auto slow = control.file_request(org_.op, enrol_body("slow"));
  auto quick = control.file_request(org_.op, enrol_body("quick"));
  control.decide(org_.leader, quick["id"], true, "", std::nullopt);
  EXPECT_TRUE(eventually([&] { consumer.poll(0.1); return !reminded.empty(); }, 30));
  auto deadline = SteadyClock::now() + std::chrono::seconds(2);  // nothing else comes
  while (SteadyClock::now() < deadline) consumer.poll(0.1);
  ASSERT_EQ(reminded.size(), 1u);
  auto body = nlohmann::json::parse(reminded[0]);
  EXPECT_EQ(body["entity_id"], slow["id"]);
  EXPECT_EQ(body["after"]["to"], "leaders");
  EXPECT_FALSE(control.remind(slow["id"]));
}

// ---- 10,000 decisions, a consumer killed -9, the broker restarted --------------

// The consumer process: this binary again, running only this test, with its
// parameters in the environment. Its effect is the record of the message id in
// PostgreSQL (DbProcessedIds); each duplicate it suppresses is a line of
// DEC_E2E_DUPS.
TEST(ControlConsumerProcess, Run) {
  const char* db_url = std::getenv("DEC_E2E_DB");
  if (!db_url) GTEST_SKIP() << "started by ControlEndToEnd only";
  BrokerOptions b = broker_options(std::getenv("DEC_E2E_NAME"), std::getenv("DEC_E2E_AMQP"));
  auto t = consumer_topology(b, std::string(std::getenv("DEC_E2E_NAME")) + ".decisions",
                             {"request.approved"});
  auto db = open_postgres(db_url, 1);
  DbProcessedIds ids(*db, "e2e");
  FILE* dups_file = std::fopen(std::getenv("DEC_E2E_DUPS"), "a");
  ASSERT_NE(dups_file, nullptr);
  std::atomic<uint64_t> dups{0};
  auto handler = services::idempotent(ids, [](const services::AmqpDelivery&) {}, &dups);
  pid_t parent = ::getppid();
  auto deadline = SteadyClock::now() + std::chrono::seconds(120);
  std::unique_ptr<services::AmqpConsumer> c;
  while (SteadyClock::now() < deadline && ::getppid() == parent) {
    try {
      if (!c) {
        c = std::make_unique<services::AmqpConsumer>(amqp(b), t, t.queues[0].name,
                                                     [&](const services::AmqpDelivery& d) {
                                                       uint64_t before = dups;
                                                       handler(d);
                                                       if (dups != before) {
                                                         std::fputs("d\n", dups_file);
                                                         std::fflush(dups_file);
                                                       }
                                                     });
      }
      c->poll(0.2);
    } catch (const Error&) {
      c.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

TEST(ControlEndToEnd, TenThousandDecisionsThroughAConsumerKillAndABrokerRestart) {
  const int kDecisions = std::getenv("DEC_E2E_N") ? std::atoi(std::getenv("DEC_E2E_N")) : 10000;
  constexpr int kThreads = 4;
  std::string name = unique_prefix();
  name.pop_back();
  std::string db_url = fresh_postgres_database();
  TempDir dir;
  auto db = open_postgres(db_url, kThreads + 2);
  ManualClock clock;
  Control control(*db, clock);
  Org org = seed_org(control);
  BrokerOptions b = broker_options(name);
  b.remind_after_s = 0;
  EventHub hub;
  BrokerSink sink(b, hub);
  OutboxRelay relay(*db, sink, RelayOptions{50, 200});
  control.set_on_commit([&] { relay.poke(); });
  // The consumer's queue exists before the first decision is published (a
  // publisher declares its topology when it connects, on its first publish).
  services::AmqpPublisher(amqp(b), consumer_topology(b, name + ".decisions", {"request.approved"})).publish({});
  DbProcessedIds processed(*db, "e2e");
  auto spawn = [&] {
    // Its servers are this process's: a child calling shared() would start its own.
    Environment env = {{"DEC_E2E_DB", db_url}, {"DEC_E2E_NAME", name}, {"DEC_E2E_AMQP", b.url},
                       {"DEC_E2E_DUPS", dir.file("dups")}};
    return Child::spawn(kSelfExe, {"--gtest_filter=ControlConsumerProcess.Run", "--gtest_brief=1"}, env,
                        "consumer process");
  };
  auto started = SteadyClock::now();
  relay.start();
  Child first = spawn();
  std::atomic<int> decided{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kThreads; ++w) {
    writers.emplace_back([&, w] {
      for (int i = w; i < kDecisions; i += kThreads) {
        auto r = control.file_request(org.op, enrol_body("e2e-" + std::to_string(i)));
        control.decide(org.leader, r["id"], true, "", std::nullopt);
        ++decided;
      }
    });
  }
  EXPECT_TRUE(eventually([&] { return processed.size() >= kDecisions / 5; }, 60));
  first.kill(SIGKILL);
  EXPECT_EQ(first.wait().signal, SIGKILL);
  int64_t at_kill = processed.size();
  Child second = spawn();
  EXPECT_TRUE(eventually([&] { return processed.size() >= at_kill + kDecisions / 5; }, 60));
  int64_t at_restart = processed.size();
  RabbitMqServer::shared().restart();
  for (auto& w : writers) w.join();
  EXPECT_TRUE(eventually([&] { return processed.size() >= kDecisions; }, 90));
  double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  second.kill(SIGTERM);
  second.wait();
  relay.stop();

  int64_t delivered = processed.size();
  size_t dups = count_lines(dir.file("dups"));
  EXPECT_EQ(decided.load(), kDecisions);
  EXPECT_EQ(delivered, kDecisions);
  EXPECT_EQ(scalar(*db, "SELECT COUNT(*) FROM outbox WHERE topic = 'request.approved'"), kDecisions);
  EXPECT_EQ(scalar(*db, "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL"), 0);
  // Every processed id is an approval's outbox id: nothing foreign, nothing twice.
  EXPECT_EQ(scalar(*db, "SELECT COUNT(*) FROM processed_messages p JOIN outbox o "
                        "ON CAST(o.id AS TEXT) = p.message_id WHERE o.topic = 'request.approved'"),
            kDecisions);
  std::printf("end to end: %d decisions, %lld delivered once each, %zu duplicate deliveries "
              "suppressed, %lld outbox rows relayed, %lld relay failures; consumer killed -9 at %lld, "
              "broker restarted at %lld; %.1f s\n",
              kDecisions, static_cast<long long>(delivered), dups,
              static_cast<long long>(relay.delivered()), static_cast<long long>(relay.failures()),
              static_cast<long long>(at_kill), static_cast<long long>(at_restart), seconds);
  RecordProperty("duplicates_suppressed", static_cast<int>(dups));
}

}  // namespace
}  // namespace dec::control::testing
