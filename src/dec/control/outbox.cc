#include "dec/control/outbox.h"

#include <chrono>

#include "dec/core/error.h"

namespace dec::control {

std::optional<OutboxMessage> Subscription::next(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
               [&] { return closed_ || !queue_.empty(); });
  if (queue_.empty()) return std::nullopt;
  OutboxMessage m = std::move(queue_.front());
  queue_.pop_front();
  return m;
}

bool Subscription::closed() {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

int64_t Subscription::dropped() {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

void Subscription::push(const OutboxMessage& m) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.size() >= capacity_) {
      queue_.pop_front();
      ++dropped_;
    }
    queue_.push_back(m);
  }
  cv_.notify_all();
}

void Subscription::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool EventHub::offer(const OutboxMessage& message) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!seen_.insert(message.id).second) return false;
  seen_order_.push_back(message.id);
  if (seen_order_.size() > remembered_ids_) {
    seen_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  for (const auto& s : subscribers_) s->push(message);
  return true;
}

std::shared_ptr<Subscription> EventHub::subscribe() {
  std::lock_guard<std::mutex> lock(mutex_);
  auto s = std::make_shared<Subscription>(queue_capacity_);
  if (closed_) {
    s->close();
    return s;
  }
  if (subscribers_.size() >= max_subscribers_) return nullptr;
  subscribers_.insert(s);
  return s;
}

void EventHub::unsubscribe(const std::shared_ptr<Subscription>& s) {
  std::lock_guard<std::mutex> lock(mutex_);
  subscribers_.erase(s);
}

void EventHub::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  for (const auto& s : subscribers_) s->close();
  subscribers_.clear();
}

size_t EventHub::subscribers() {
  std::lock_guard<std::mutex> lock(mutex_);
  return subscribers_.size();
}

OutboxRelay::OutboxRelay(Db& db, OutboxSink& sink, RelayOptions options)
    : db_(db), sink_(sink), options_(options) {}

OutboxRelay::~OutboxRelay() { stop(); }

void OutboxRelay::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void OutboxRelay::poke() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    poked_ = true;
  }
  cv_.notify_all();
}

void OutboxRelay::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int OutboxRelay::pass() {
  int n = 0;
  // Rows are claimed, delivered and marked in one transaction; on PostgreSQL,
  // SKIP LOCKED lets several instances' relays share the table.
  std::string claim =
      "SELECT id, at, topic, payload FROM outbox WHERE delivered_at IS NULL ORDER BY id LIMIT $1";
  if (db_.dialect() == Dialect::kPostgres) claim += " FOR UPDATE SKIP LOCKED";
  db_.transact([&](Tx& tx) {
    Rows rows = tx.query(claim, {int64_t{options_.batch}});
    if (rows.empty()) return;
    std::vector<OutboxMessage> batch;
    for (const Row& r : rows) {
      batch.push_back({r.integer("id"), r.integer("at"), r.text("topic"), r.text("payload")});
    }
    sink_.deliver_batch(batch);
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    Binder b;
    std::string sql = "UPDATE outbox SET delivered_at = " + b.bind(now) + " WHERE id IN (";
    for (size_t i = 0; i < batch.size(); ++i) sql += (i ? ", " : "") + b.bind(batch[i].id);
    tx.exec(sql + ")", b.params);
    n = static_cast<int>(batch.size());
  });
  delivered_ += n;
  return n;
}

void OutboxRelay::run() {
  for (;;) {
    int n = 0;
    try {
      n = pass();
    } catch (const Error&) {
      // The sink or the database is down: the rows stay and the next pass retries.
      ++failures_;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopping_) return;
    if (n == options_.batch) continue;  // more are waiting
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms),
                 [&] { return poked_ || stopping_; });
    poked_ = false;
    if (stopping_) return;
  }
}

}  // namespace dec::control
