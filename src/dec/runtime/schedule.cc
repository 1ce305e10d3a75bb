#include "dec/runtime/schedule.h"

#include <algorithm>
#include <tuple>

#include "dec/runtime/tags.h"

namespace dec::runtime {

namespace {

// True when stage j runs each micro-batch's backward right after its forward
// because an earlier stage computes (and so waits for the gradient) and only
// relays lie between j and the path's last stage.
bool early_backward(const ExecPath& path, size_t j) {
  bool early = needs_input_grad(path, j);
  for (size_t i = j; early && i < path.stages.size() - 1; ++i) early = path.stages[i].empty();
  return early;
}

// True when stage j is the path's only computing stage, and so its last: no
// other stage waits for its activations or its gradient.
bool alone(const ExecPath& path, size_t j) {
  return j + 1 == path.stages.size() && !needs_input_grad(path, j) && !path.stages[j].empty();
}

using Key = std::tuple<int, size_t, int64_t, int64_t>;  // (phase, path, micro-batch, position)
enum Phase { kRaw = -1, kFeed = 0, kAlone = 1, kForward = 2, kBackward = 3 };

struct Keyed {
  Key key;
  Task task;
};

// The sort keys of stage j's forward and backward on micro-batch k. Positions
// within a phase: forwards in path order (2j), an early backward after every
// forward of its micro-batch, later stages' first (2·last + 1 + last − j), and
// GPipe's backwards from the last stage down (−j).
std::pair<Key, Key> keys_of(const ExecPath& path, size_t p, size_t j, int64_t k) {
  if (alone(path, j)) return {Key{kAlone, p, k, 0}, Key{kAlone, p, k, 1}};
  const int64_t jj = static_cast<int64_t>(j);
  const int64_t last = static_cast<int64_t>(path.stages.size()) - 1;
  const int forward_phase = needs_input_grad(path, j) ? kForward : (path.stages[j].empty() ? kRaw : kFeed);
  const Key forward{forward_phase, p, k, 2 * jj};
  if (early_backward(path, j)) return {forward, Key{kForward, p, k, 2 * last + 1 + (last - jj)}};
  return {forward, Key{kBackward, p, k, -jj}};
}

}  // namespace

bool needs_input_grad(const ExecPath& path, size_t j) {
  for (size_t i = 0; i < j; ++i) {
    if (!path.stages[i].empty()) return true;
  }
  return false;
}

bool backward_follows_forward(const ExecPath& path, size_t j) {
  return early_backward(path, j) || alone(path, j);
}

RankSchedule make_schedule(const ExecPlan& plan, int rank) {
  RankSchedule s;
  std::vector<Keyed> keyed;
  const std::vector<int64_t> path_offset = path_offsets(plan);
  for (size_t p = 0; p < plan.paths.size(); ++p) {
    const ExecPath& path = plan.paths[p];
    const std::vector<int64_t> sizes = micro_batch_sizes(path);
    for (size_t j = 0; j < path.stages.size(); ++j) {
      if (path.stages[j].rank != rank) continue;
      int64_t offset = path_offset[p];
      for (int64_t k = 0; k < path.micro_batches; ++k) {
        const auto [forward, backward] = keys_of(path, p, j, k);
        keyed.push_back({forward, {false, p, k, j, sizes[k], offset}});
        keyed.push_back({backward, {true, p, k, j, sizes[k], offset}});
        offset += sizes[k];
        for (size_t l = path.stages[j].begin; l < path.stages[j].end; ++l) ++s.backward_touches[l];
      }
    }
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) { return a.key < b.key; });
  s.forward_phase_end = keyed.size();
  for (const Keyed& k : keyed) {
    if (std::get<0>(k.key) > kForward && s.forward_phase_end == keyed.size()) {
      s.forward_phase_end = s.tasks.size();
    }
    s.tasks.push_back(k.task);
  }
  for (const Task& t : s.tasks) {
    if (t.backward || t.stage == 0) continue;
    const ExecPath& path = plan.paths[t.path];
    const int prev = path.stages[t.stage - 1].rank;
    s.raw_inputs.insert({prev, message_tag(t.path, t.micro, MessageKind::kLabels)});
    if (!needs_input_grad(path, t.stage)) {
      s.raw_inputs.insert({prev, message_tag(t.path, t.micro, MessageKind::kActivation)});
    }
  }
  return s;
}

}  // namespace dec::runtime
