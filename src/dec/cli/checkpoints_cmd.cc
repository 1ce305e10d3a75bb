// `dec checkpoints list|prune|restore`: a checkpoint root's retention tiers
// (docs/checkpoint.md, "Retention"; runtime/checkpoint_tiers.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <string>

#include "dec/core/error.h"
#include "dec/core/units.h"
#include "dec/runtime/checkpoint_tiers.h"

namespace dec::cli {

namespace {

using runtime::StoredForm;
using runtime::Tier;

struct TierFlags {
  runtime::RetentionPolicy policy;
  std::string now;  // "" = the clock
};

void add_policy_flags(CLI::App* cmd, TierFlags& f) {
  cmd->add_option("--hot", f.policy.hot, "Newest checkpoints kept uncompressed (at least 1)")
      ->capture_default_str();
  cmd->add_option("--now", f.now,
                  "Decide as of this UTC time (2026-12-07 or 2026-12-07T10:00:00Z); default: now");
}

int64_t now_of(const TierFlags& f) {
  if (f.now.empty()) return static_cast<int64_t>(std::time(nullptr));
  const auto t = runtime::parse_utc_time(f.now);
  DEC_CHECK(t.has_value(), ConfigError, "invalid time", "--now",
            "expected 2026-12-07 or 2026-12-07T10:00:00Z, got '", f.now, "'");
  return *t;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

// The tier column and what keeps it (or what prune does with it).
std::pair<std::string, std::string> describe(const runtime::StoredCheckpoint& c,
                                             const runtime::RetentionDecision& d) {
  if (c.form == StoredForm::kDamaged) return {"-", "damaged: " + c.problem + " (left alone)"};
  if (c.form == StoredForm::kPartial) {
    return d.tier == Tier::kRemove ? std::make_pair("-", "stale save, pruned by prune")
                                   : std::make_pair("-", "save in progress");
  }
  if (d.tier == Tier::kRemove) return {"-", "pruned by prune"};
  std::string why = join(d.kept_by);
  const bool has_dir = c.form != StoredForm::kArchive;
  if (d.tier == Tier::kCold && has_dir) why += " (compressed by prune)";
  if (d.tier != Tier::kCold && !has_dir) why += " (compressed: `dec checkpoints restore` to use)";
  return {runtime::tier_name(d.tier), why};
}

void print_listing(const runtime::CheckpointListing& l, int64_t now,
                   const runtime::RetentionPolicy& p) {
  std::printf("%s: latest %s; hot %d, warm %d days, cold %d weeks and every month; as of %s UTC\n",
              l.root.c_str(),
              l.latest_step ? ("step " + std::to_string(*l.latest_step)).c_str() : "none", p.hot,
              p.daily_days, p.weekly_weeks, runtime::time_label(now).c_str());
  std::printf("%10s  %-19s  %10s  %-14s  %-4s  %s\n", "step", "completed (UTC)", "size", "form",
              "tier", "kept by");
  std::map<std::string, int> count;
  for (size_t i = 0; i < l.checkpoints.size(); ++i) {
    const auto& c = l.checkpoints[i];
    const auto [tier, why] = describe(c, l.decisions[i]);
    const uint64_t bytes = c.form == StoredForm::kArchive ? c.archive_bytes : c.dir_bytes;
    std::printf("%10lld  %-19s  %10s  %-14s  %-4s  %s\n", static_cast<long long>(c.step),
                runtime::time_label(c.completed_at).c_str(),
                format_bytes(static_cast<double>(bytes)).c_str(), runtime::form_name(c.form),
                tier.c_str(), why.c_str());
    ++count[why.find("pruned by prune") != std::string::npos ? "pruned" : tier];
  }
  std::printf("%zu checkpoints: %d hot, %d warm, %d cold, %d pruned by prune\n",
              l.checkpoints.size(), count["hot"], count["warm"], count["cold"], count["pruned"]);
}

void add_list(CLI::App* parent) {
  auto dir = std::make_shared<std::string>();
  auto flags = std::make_shared<TierFlags>();
  auto* cmd = parent->add_subcommand(
      "list",
      "Each checkpoint: step, completion time, size, form, tier and the rule that keeps it.\n"
      "Example: dec checkpoints list ckpt");
  cmd->add_option("DIR", *dir, "Checkpoint root (--checkpoint-dir of dec train)")->required();
  add_policy_flags(cmd, *flags);
  cmd->callback([dir, flags] {
    const int64_t now = now_of(*flags);
    print_listing(runtime::list_checkpoints(*dir, now, flags->policy), now, flags->policy);
  });
}

void add_prune(CLI::App* parent) {
  auto dir = std::make_shared<std::string>();
  auto flags = std::make_shared<TierFlags>();
  auto options = std::make_shared<runtime::PruneOptions>();
  auto* cmd = parent->add_subcommand(
      "prune",
      "Compress the cold checkpoints (zstd) and remove those no rule keeps.\n"
      "Example: dec checkpoints prune ckpt --dry-run");
  cmd->add_option("DIR", *dir, "Checkpoint root")->required();
  cmd->add_flag("--dry-run", options->dry_run, "Say what would be done; change nothing");
  cmd->add_option("--level", options->level, "zstd level of new archives (1-19)")
      ->capture_default_str();
  add_policy_flags(cmd, *flags);
  cmd->callback([dir, flags, options] {
    options->policy = flags->policy;
    options->now = now_of(*flags);
    const runtime::PruneReport r = runtime::prune_checkpoints(*dir, *options);
    for (const auto& a : r.actions) {
      std::string sizes = format_bytes(static_cast<double>(a.bytes_before));
      if (a.kind == runtime::PruneAction::kCompress && !options->dry_run) {
        sizes += " -> " + format_bytes(static_cast<double>(a.bytes_after));
      }
      std::printf("%s%-14s step %lld  %s  (%s)\n", options->dry_run ? "would " : "",
                  runtime::action_name(a.kind), static_cast<long long>(a.step), a.path.c_str(),
                  sizes.c_str());
    }
    if (r.leftovers_removed > 0) {
      std::printf("removed %d leftovers of an interrupted prune or restore\n", r.leftovers_removed);
    }
    std::printf("%s%zu actions%s\n", options->dry_run ? "dry run: " : "", r.actions.size(),
                r.actions.empty() ? " (nothing to do)" : "");
  });
}

void add_restore(CLI::App* parent) {
  auto dir = std::make_shared<std::string>();
  auto step = std::make_shared<int64_t>(-1);
  auto* cmd = parent->add_subcommand(
      "restore",
      "Decompress a cold checkpoint back to DIR/step-N (resume or export it from there).\n"
      "Example: dec checkpoints restore ckpt 500");
  cmd->add_option("DIR", *dir, "Checkpoint root")->required();
  cmd->add_option("STEP", *step, "The step to restore")->required();
  cmd->callback([dir, step] {
    DEC_CHECK(*step >= 0, ConfigError, "invalid step", "STEP", "must not be negative, got ", *step);
    const std::string out = runtime::restore_checkpoint(*dir, *step);
    std::printf("restored %s (resume with --resume %s)\n", out.c_str(), out.c_str());
  });
}

}  // namespace

void add_checkpoints_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "checkpoints",
      "Checkpoint retention tiers: hot (newest N), warm (one a day, 30 days), cold (zstd: one a\n"
      "week for 26 weeks, one a month for ever).\n"
      "Example: dec checkpoints list ckpt   then   dec checkpoints prune ckpt");
  cmd->require_subcommand(1);
  add_list(cmd);
  add_prune(cmd);
  add_restore(cmd);
}

}  // namespace dec::cli
