// `dec models`: the model zoo, or one model's blocks, with sizes and costs.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "dec/core/units.h"
#include "dec/model/model.h"

namespace dec::cli {
namespace {

struct ModelsFlags {
  std::string model;
  std::string input;
  int64_t classes = 0;
  std::string format = "text";
};

constexpr int64_t kFloatBytes = 4;  // activations are float32

int64_t elements(const model::Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

void list_zoo(const std::string& format) {
  nlohmann::ordered_json models = nlohmann::ordered_json::array();
  if (format == "text") {
    std::printf("%-12s %-9s %7s %6s %8s %14s  %s\n", "model", "input", "classes", "blocks",
                "params", "FLOPs/sample", "description");
  }
  for (const auto& e : model::zoo()) {
    const model::ModelSpec spec = model::make_model(e.name);
    if (format == "json") {
      models.push_back({{"name", e.name},
                        {"description", e.description},
                        {"input", e.default_input},
                        {"classes", e.default_classes},
                        {"blocks", spec.num_blocks()},
                        {"params", spec.total_params()},
                        {"flops", spec.total_flops()}});
      continue;
    }
    std::printf("%-12s %-9s %7lld %6zu %8s %14s  %s\n", e.name.c_str(),
                model::format_shape(e.default_input).c_str(),
                static_cast<long long>(e.default_classes), spec.num_blocks(),
                format_count(static_cast<double>(spec.total_params())).c_str(),
                format_flops(spec.total_flops()).c_str(), e.description.c_str());
  }
  if (format == "json") {
    std::printf("%s\n", nlohmann::ordered_json{{"models", models}}.dump(2).c_str());
  } else {
    std::printf("FLOPs count a multiply-add as 2. `dec models --model NAME` lists its blocks.\n");
  }
}

void show_model(const model::ModelSpec& spec, const std::string& format) {
  if (format == "json") {
    nlohmann::ordered_json blocks = nlohmann::ordered_json::array();
    for (const auto& b : spec.blocks()) {
      blocks.push_back({{"name", b.name},
                        {"in_shape", b.in_shape},
                        {"out_shape", b.out_shape},
                        {"params", b.params},
                        {"buffers", b.buffers},
                        {"flops", b.flops},
                        {"activation_bytes", kFloatBytes * elements(b.out_shape)}});
    }
    nlohmann::ordered_json j = {
        {"model", spec.name()}, {"input", spec.input_shape()},   {"classes", spec.num_classes()},
        {"hash", spec.hash()},  {"params", spec.total_params()}, {"flops", spec.total_flops()},
        {"blocks", blocks}};
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("%s, input %s, %lld classes: %zu blocks, %s parameters, %s per sample\n",
              spec.name().c_str(), model::format_shape(spec.input_shape()).c_str(),
              static_cast<long long>(spec.num_classes()), spec.num_blocks(),
              format_count(static_cast<double>(spec.total_params())).c_str(),
              format_flops(spec.total_flops()).c_str());
  std::printf("hash %s\n", spec.hash().c_str());
  std::printf("%-4s %-10s %-12s %8s %14s %12s\n", "#", "block", "output", "params", "FLOPs/sample",
              "output/smpl");
  for (size_t i = 0; i < spec.num_blocks(); ++i) {
    const auto& b = spec.block(i);
    std::printf("%-4zu %-10s %-12s %8s %14s %12s\n", i, b.name.c_str(),
                model::format_shape(b.out_shape).c_str(),
                format_count(static_cast<double>(b.params)).c_str(), format_flops(b.flops).c_str(),
                format_bytes(kFloatBytes * static_cast<double>(elements(b.out_shape))).c_str());
  }
}

}  // namespace

void add_models_command(CLI::App& app) {
  auto f = std::make_shared<ModelsFlags>();
  auto* cmd = app.add_subcommand(
      "models",
      "List the model zoo (default input, blocks, parameters, FLOPs per sample), or with --model\n"
      "one model's blocks: output shape, parameters, FLOPs and output activation bytes per "
      "sample.\n"
      "Example: dec models --model resnet18 --input 3x96x96 --classes 10");
  auto* model = cmd->add_option("--model", f->model, "Zoo model whose blocks to list");
  cmd->add_option("--input", f->input, "Sample shape, e.g. 3x96x96 (default: the model's)")
      ->needs(model);
  cmd->add_option("--classes", f->classes, "Classes (default: the model's)")->needs(model);
  cmd->add_option("--format", f->format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  cmd->callback([f] {
    if (f->model.empty()) {
      list_zoo(f->format);
      return;
    }
    const model::Shape shape =
        f->input.empty() ? model::Shape{} : model::parse_shape(f->input, "--input");
    show_model(model::make_model(f->model, shape, f->classes), f->format);
  });
}

}  // namespace dec::cli
