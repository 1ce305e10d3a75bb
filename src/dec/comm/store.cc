#include "dec/comm/store.h"

#include <algorithm>

#include <thread>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>

#include "dec/comm/engine_error.h"
#include "dec/core/error.h"

namespace dec::comm {
namespace {

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<std::uint8_t>& b) { return {b.begin(), b.end()}; }

std::string join(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

}  // namespace

std::string Store::at(const std::string& key) const {
  return dec::str(server_name_, ", key ", key);
}

Store::Store(c10::intrusive_ptr<c10d::Store> store, std::string server_name)
    : store_(std::move(store)), server_name_(std::move(server_name)) {}

Store Store::prefixed(const std::string& prefix) const {
  DEC_ASSERT(valid());
  return Store(c10::make_intrusive<c10d::PrefixStore>(prefix, store_), server_name_);
}

void Store::set(const std::string& key, const std::string& value) const {
  DEC_ASSERT(valid());
  try {
    store_->set(key, bytes(value));
  } catch (...) {
    detail::rethrow_as_dec(std::current_exception(), "store set failed", at(key));
  }
}

std::string Store::get(const std::string& key, std::chrono::milliseconds timeout) const {
  wait({key}, timeout);
  try {
    return text(store_->get(key));
  } catch (...) {
    detail::rethrow_as_dec(std::current_exception(), "store get failed", at(key));
  }
}

std::string Store::set_if_absent(const std::string& key, const std::string& value) const {
  DEC_ASSERT(valid());
  try {
    // compareSet with an empty expected value creates the key only when it is absent.
    return text(store_->compareSet(key, {}, bytes(value)));
  } catch (...) {
    detail::rethrow_as_dec(std::current_exception(), "store compare-set failed", at(key));
  }
}

std::int64_t Store::add(const std::string& key, std::int64_t delta) const {
  DEC_ASSERT(valid());
  try {
    return store_->add(key, delta);
  } catch (...) {
    detail::rethrow_as_dec(std::current_exception(), "store add failed", at(key));
  }
}

bool Store::check(const std::vector<std::string>& keys) const {
  DEC_ASSERT(valid());
  try {
    return store_->check(keys);
  } catch (...) {
    detail::rethrow_as_dec(std::current_exception(), "store check failed", at(join(keys)));
  }
}

void Store::wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout,
                 std::chrono::milliseconds poll) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Back off from 50 us to `poll`: a key that is about to appear (a peer's
  // per-iteration stats) costs microseconds, not a whole poll interval.
  std::chrono::microseconds pause(50);
  while (!check(keys)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      std::vector<std::string> missing;
      for (const auto& k : keys)
        if (!check({k})) missing.push_back(k);
      throw Timeout("store wait timed out", server_name_,
                    dec::str("no key ", join(missing), " after ", timeout.count(), " ms"));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::microseconds>(pause * 2, poll);
  }
}

}  // namespace dec::comm
