#include "dec/control/processed_ids.h"

#include <chrono>

namespace dec::control {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool DbProcessedIds::contains(const std::string& id) {
  return scalar(db_, "SELECT COUNT(*) FROM processed_messages WHERE consumer = $1 AND message_id = $2",
                {consumer_, id}) > 0;
}

void DbProcessedIds::add(const std::string& id) {
  db_.transact([&](Tx& tx) { add_in(tx, id); });
}

bool DbProcessedIds::add_in(Tx& tx, const std::string& id) {
  return tx.exec("INSERT INTO processed_messages (consumer, message_id, at) VALUES ($1, $2, $3) "
                 "ON CONFLICT DO NOTHING",
                 {consumer_, id, now_ms()}) == 1;
}

int64_t DbProcessedIds::size() {
  return scalar(db_, "SELECT COUNT(*) FROM processed_messages WHERE consumer = $1", {consumer_});
}

}  // namespace dec::control
