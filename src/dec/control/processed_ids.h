// Consumers' idempotence in the control plane's database: the message ids a
// consumer has handled (table processed_messages, keyed by consumer and
// message id), behind services::ProcessedIds so that services::idempotent()
// wraps a handler with it. A record survives any crash once add() returned
// (it is committed), and add_in() puts it in the transaction of the handler's
// own effect, so that the effect and the record commit together.
// Thread-safe (the Db is).
#pragma once

#include <string>

#include "dec/control/db.h"
#include "dec/services/amqp.h"

namespace dec::control {

class DbProcessedIds : public services::ProcessedIds {
 public:
  DbProcessedIds(Db& db, std::string consumer) : db_(db), consumer_(std::move(consumer)) {}
  bool contains(const std::string& id) override;
  void add(const std::string& id) override;
  // Records id in tx; false if it was recorded already (the caller's effect is
  // then a duplicate and its transaction should do nothing).
  bool add_in(Tx& tx, const std::string& id);
  int64_t size();

 private:
  Db& db_;
  std::string consumer_;
};

}  // namespace dec::control
