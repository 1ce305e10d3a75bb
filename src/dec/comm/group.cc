// Building groups: the transport device, the world group, sub-groups.
#include "dec/comm/group.h"

#include <algorithm>
#include <csignal>
#include <thread>

#include "dec/comm/engine_error.h"
#include "dec/comm/group_state.h"
#include "dec/comm/route.h"
#include "dec/core/error.h"

namespace dec::comm {
namespace {

using Ms = std::chrono::milliseconds;

void ignore_sigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

std::shared_ptr<::gloo::transport::Device> make_device(const GroupOptions& o,
                                                       const Rendezvous& rv) {
  const std::string where =
      o.interface.empty()
          ? (o.bind_address.empty() ? local_address_towards(rv.master_addr(), rv.master_port())
                                    : o.bind_address)
          : o.interface;
  try {
    if (!o.interface.empty()) return c10d::ProcessGroupGloo::createDeviceForInterface(where);
    return c10d::ProcessGroupGloo::createDeviceForHostname(where);
  } catch (...) {
    const std::string msg = detail::engine_message(std::current_exception());
    throw ConfigError("cannot create the transport device",
                      o.interface.empty() ? "bind address " + where : "interface " + where, msg);
  }
}

// Every member announces `step` under the group's prefix, then waits for the
// others, so that a missing member is named; Gloo's own connect would only say
// that a store wait timed out.
void await_members(Store& store, const Group::State& s, const char* step,
                   std::chrono::steady_clock::time_point deadline) {
  store.set(dec::str(step, "/", s.rank), "1");
  for (;;) {
    std::vector<int> missing;
    for (int r = 0; r < static_cast<int>(s.members.size()); ++r)
      if (!store.check({dec::str(step, "/", r)})) missing.push_back(s.members[r]);
    if (missing.empty()) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string names;
      for (int g : missing) names += (names.empty() ? "" : ", ") + s.world->describe_global(g);
      throw Timeout(
          "cannot build process group", s.describe_group(),
          dec::str("missing ", names, " after ", s.world->options.timeout.count(), " ms"));
    }
    std::this_thread::sleep_for(Ms(10));
  }
}

// Connects `state` (identity already set) to its peers under `prefix`.
void connect(Group::State& s, const std::string& prefix) {
  const auto deadline = std::chrono::steady_clock::now() + s.world->options.timeout;
  Store store = s.world->store.prefixed(prefix);
  await_members(store, s, "arrived", deadline);
  auto opts = c10d::ProcessGroupGloo::Options::create(s.world->options.timeout);
  opts->devices = {s.world->device};
  opts->threads = std::max(1, s.world->options.worker_threads);
  try {
    s.pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store.prefixed("gloo").native(), s.rank,
                                                       static_cast<int>(s.members.size()), opts);
  } catch (...) {
    detail::rethrow_as_dec(std::current_exception(), "cannot build process group",
                           s.describe_group());
  }
  // Gloo's constructor returns once this member's pairs are connected, which
  // may be before a peer has finished its side of them: a member that then
  // destroyed the group at once would close sockets under that peer's connect
  // ("Connection closed by peer"). So nobody returns before everyone has the
  // group, as torch.distributed's init_process_group does with its store barrier.
  await_members(store, s, "connected", deadline);
}

}  // namespace

std::string WorldShared::describe_global(int g) const {
  if (g < 0 || g >= static_cast<int>(members.size())) return dec::str("rank ", g);
  return dec::str("rank ", g, " (", members[g].node_name, ")");
}

std::string Group::State::describe_group() const {
  std::string out = dec::str("group '", name, "' [");
  for (size_t i = 0; i < members.size(); ++i) {
    if (i == 8) {
      out += dec::str(", ... ", members.size() - 8, " more");
      break;
    }
    out += (i ? ", " : "") + world->describe_global(members[i]);
  }
  return out + "]";
}

void Group::State::throw_if_failed() {
  std::lock_guard<std::mutex> lock(mu);
  if (failure) std::rethrow_exception(failure);
}

Group Group::world(const Rendezvous& rv, GroupOptions options) {
  DEC_CHECK(options.timeout.count() > 0, ConfigError, "invalid group timeout", "--comm-timeout",
            options.timeout.count(), " ms must be positive");
  ignore_sigpipe();
  auto shared = std::make_shared<WorldShared>();
  shared->members = rv.members();
  shared->global_rank = rv.rank();
  shared->store = rv.store();
  shared->clock = options.clock ? options.clock : &RealClock::instance();
  shared->device = make_device(options, rv);
  shared->counters = std::make_shared<Counters>();
  shared->options = std::move(options);

  auto state = std::make_shared<State>();
  state->world = shared;
  state->name = "world";
  for (int r = 0; r < rv.world_size(); ++r) state->members.push_back(r);
  state->rank = rv.rank();
  connect(*state, "group/world");
  return Group(std::move(state));
}

Group Group::new_subgroup(const std::string& name, std::vector<int> global_ranks) const {
  const auto& world = state_->world;
  DEC_CHECK(!name.empty(), ConfigError, "invalid group name", "new_subgroup", "empty name");
  std::sort(global_ranks.begin(), global_ranks.end());
  DEC_CHECK(std::adjacent_find(global_ranks.begin(), global_ranks.end()) == global_ranks.end(),
            ConfigError, "invalid group members", name, "duplicate rank");
  std::string list;
  for (int g : global_ranks) {
    DEC_CHECK(g >= 0 && g < static_cast<int>(world->members.size()), ConfigError,
              "invalid group members", name, "rank ", g, " is not in the job (world size ",
              world->members.size(), ")");
    list += (list.empty() ? "" : ",") + std::to_string(g);
  }
  const auto self = std::find(global_ranks.begin(), global_ranks.end(), world->global_rank);
  DEC_CHECK(self != global_ranks.end(), ConfigError, "invalid group members", name, "rank ",
            world->global_rank, " builds a group it is not a member of: [", list, "]");

  const std::string key = name + "[" + list + "]";
  int generation = 0;
  {
    std::lock_guard<std::mutex> lock(world->mu);
    generation = world->generations[key]++;
  }
  auto state = std::make_shared<State>();
  state->world = world;
  state->name = name;
  state->rank = static_cast<int>(self - global_ranks.begin());
  state->members = std::move(global_ranks);
  connect(*state, dec::str("group/", key, "#", generation));
  return Group(std::move(state));
}

Group::Group(std::shared_ptr<State> state) : state_(std::move(state)) {}
Group::Group(Group&&) noexcept = default;
Group& Group::operator=(Group&&) noexcept = default;
Group::~Group() = default;

int Group::rank() const { return state_->rank; }
int Group::size() const { return static_cast<int>(state_->members.size()); }
const std::string& Group::name() const { return state_->name; }
const std::vector<int>& Group::members() const { return state_->members; }

int Group::global_rank(int group_rank) const {
  DEC_CHECK(group_rank >= 0 && group_rank < size(), ConfigError, "invalid group rank",
            state_->describe_group(), group_rank, " is out of range [0, ", size() - 1, "]");
  return state_->members[group_rank];
}

int Group::group_rank(int global_rank) const {
  const auto& m = state_->members;
  const auto it = std::lower_bound(m.begin(), m.end(), global_rank);
  DEC_CHECK(it != m.end() && *it == global_rank, ConfigError, "not a group member",
            state_->describe_group(), "global rank ", global_rank);
  return static_cast<int>(it - m.begin());
}

bool Group::contains(int global_rank) const {
  return std::binary_search(state_->members.begin(), state_->members.end(), global_rank);
}

std::string Group::describe(int group_rank) const {
  return state_->world->describe_global(global_rank(group_rank));
}

Counters& Group::counters() const { return *state_->world->counters; }
std::chrono::milliseconds Group::timeout() const { return state_->world->options.timeout; }

}  // namespace dec::comm
