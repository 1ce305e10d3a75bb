#include "dec/serve/kserve.h"

#include <cstring>

#include "dec/core/json_depth.h"

namespace dec::serve {

namespace {

using nlohmann::json;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "binary tensors are little-endian: this host would need byte swaps");

constexpr int kMaxDepth = 64;

[[noreturn]] void bad(const std::string& message) { throw ProtocolError(400, message); }

void flatten(const json& j, std::vector<float>& out, const std::string& where) {
  if (j.is_number()) {
    out.push_back(j.get<float>());
  } else if (j.is_array()) {
    for (const auto& e : j) flatten(e, out, where);
  } else {
    bad(where + ": data must hold numbers only, got " + std::string(j.type_name()));
  }
}

std::vector<int64_t> parse_shape(const json& j, const std::string& where) {
  if (!j.is_array()) bad(where + ".shape: required, an array of integers");
  std::vector<int64_t> shape;
  for (const auto& d : j) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > (int64_t{1} << 40)) {
      bad(where + ".shape: dimensions must be integers >= 0, got " + d.dump());
    }
    shape.push_back(d.get<int64_t>());
  }
  return shape;
}

Tensor parse_tensor(const json& j, const std::string& where, std::string_view& tail) {
  if (!j.is_object()) bad(where + ": must be an object");
  Tensor t;
  if (!j.contains("name") || !j["name"].is_string()) bad(where + ".name: required, a string");
  t.name = j["name"].get<std::string>();
  t.shape = parse_shape(j.value("shape", json()), where);
  if (!j.contains("datatype") || !j["datatype"].is_string()) bad(where + ".datatype: required, a string");
  const std::string dtype = j["datatype"].get<std::string>();
  if (dtype != "FP32") bad(where + ".datatype: only FP32 is served, got " + dtype);
  if (j.contains("parameters")) {
    if (!j["parameters"].is_object()) bad(where + ".parameters: must be an object");
    t.parameters = j["parameters"];
  }
  const int64_t count = element_count(t.shape);
  if (t.parameters.contains("binary_data_size")) {
    const json& size = t.parameters["binary_data_size"];
    if (!size.is_number_unsigned()) bad(where + ".parameters.binary_data_size: must be an integer >= 0");
    const uint64_t bytes = size.get<uint64_t>();
    if (bytes != static_cast<uint64_t>(count) * sizeof(float)) {
      bad(where + ": binary_data_size " + std::to_string(bytes) + " is not 4 x " +
          std::to_string(count) + " elements of shape");
    }
    if (bytes > tail.size()) bad(where + ": the body ends before its binary data");
    t.data.resize(static_cast<size_t>(count));
    std::memcpy(t.data.data(), tail.data(), bytes);
    tail.remove_prefix(bytes);
    t.binary = true;
    t.parameters.erase("binary_data_size");
    return t;
  }
  if (!j.contains("data")) bad(where + ".data: required (or parameters.binary_data_size)");
  t.data.reserve(static_cast<size_t>(count));
  flatten(j["data"], t.data, where + ".data");
  if (static_cast<int64_t>(t.data.size()) != count) {
    bad(where + ".data: " + std::to_string(t.data.size()) + " values for shape of " +
        std::to_string(count) + " elements");
  }
  return t;
}

json tensor_header(const Tensor& t) {
  json j = {{"name", t.name}, {"shape", t.shape}, {"datatype", "FP32"}};
  json params = t.parameters.is_object() ? t.parameters : json::object();
  if (t.binary) {
    params["binary_data_size"] = t.data.size() * sizeof(float);
  } else {
    j["data"] = t.data;
  }
  if (!params.empty()) j["parameters"] = params;
  return j;
}

std::string with_tail(const json& header, const std::vector<Tensor>& tensors, size_t* header_length) {
  std::string out = header.dump(-1, ' ', false, json::error_handler_t::replace);
  *header_length = out.size();
  for (const Tensor& t : tensors) {
    if (t.binary) out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size() * sizeof(float));
  }
  return out;
}

std::string string_field(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) return "";
  if (!j[key].is_string()) bad(where + "." + key + ": must be a string");
  return j[key].get<std::string>();
}

bool flag(const json& parameters, const char* key) {
  return parameters.contains(key) && parameters[key].is_boolean() && parameters[key].get<bool>();
}

json parameters_field(const json& j, const std::string& where) {
  if (!j.contains("parameters")) return json::object();
  if (!j["parameters"].is_object()) bad(where + ".parameters: must be an object");
  return j["parameters"];
}

}  // namespace

int64_t element_count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d > 0 && n > (int64_t{1} << 40) / d) bad("shape: more than 2^40 elements");
    n *= d;
  }
  return n;
}

Body split_body(const std::string& body, const std::string& header_length) {
  size_t json_length = body.size();
  if (!header_length.empty()) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(header_length.c_str(), &end, 10);
    if (*end != '\0' || header_length[0] == '-' || v > body.size()) {
      bad(std::string(kInferenceHeaderLength) + ": must be a length within the body, got '" +
          header_length + "'");
    }
    json_length = static_cast<size_t>(v);
  }
  const std::string_view text(body.data(), json_length);
  if (json_depth(text) > kMaxDepth) bad("the JSON body is nested too deeply");
  Body b;
  b.header = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (b.header.is_discarded()) bad("the body is not valid JSON");
  if (!b.header.is_object()) bad("the body must be a JSON object");
  b.tail = std::string_view(body).substr(json_length);
  return b;
}

InferRequest parse_infer_request(const Body& body) {
  const json& j = body.header;
  InferRequest r;
  r.id = string_field(j, "id", "request");
  r.parameters = parameters_field(j, "request");
  if (!j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].empty()) {
    bad("inputs: required, a non-empty array");
  }
  std::string_view tail = body.tail;
  for (size_t i = 0; i < j["inputs"].size(); ++i) {
    r.inputs.push_back(parse_tensor(j["inputs"][i], "inputs[" + std::to_string(i) + "]", tail));
  }
  const bool all_binary = flag(r.parameters, "binary_data_output");
  if (j.contains("outputs")) {
    if (!j["outputs"].is_array()) bad("outputs: must be an array");
    for (size_t i = 0; i < j["outputs"].size(); ++i) {
      const json& o = j["outputs"][i];
      const std::string where = "outputs[" + std::to_string(i) + "]";
      if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) bad(where + ".name: required, a string");
      const json p = parameters_field(o, where);
      r.outputs.push_back({o["name"].get<std::string>(), all_binary || flag(p, "binary_data")});
    }
  }
  return r;
}

InferResponse parse_infer_response(const Body& body) {
  const json& j = body.header;
  InferResponse r;
  r.model_name = string_field(j, "model_name", "response");
  r.id = string_field(j, "id", "response");
  r.parameters = parameters_field(j, "response");
  if (!j.contains("outputs") || !j["outputs"].is_array()) bad("outputs: required, an array");
  std::string_view tail = body.tail;
  for (size_t i = 0; i < j["outputs"].size(); ++i) {
    r.outputs.push_back(parse_tensor(j["outputs"][i], "outputs[" + std::to_string(i) + "]", tail));
  }
  return r;
}

std::string write_infer_request(const InferRequest& r, size_t* header_length) {
  json j = json::object();
  if (!r.id.empty()) j["id"] = r.id;
  if (!r.parameters.empty()) j["parameters"] = r.parameters;
  j["inputs"] = json::array();
  for (const Tensor& t : r.inputs) j["inputs"].push_back(tensor_header(t));
  if (!r.outputs.empty()) {
    j["outputs"] = json::array();
    for (const auto& o : r.outputs) {
      json e = {{"name", o.name}};
      if (o.binary) e["parameters"] = {{"binary_data", true}};
      j["outputs"].push_back(e);
    }
  }
  return with_tail(j, r.inputs, header_length);
}

std::string write_infer_response(const InferResponse& r, size_t* header_length) {
  json j = {{"model_name", r.model_name}};
  if (!r.id.empty()) j["id"] = r.id;
  if (!r.parameters.empty()) j["parameters"] = r.parameters;
  j["outputs"] = json::array();
  for (const Tensor& t : r.outputs) j["outputs"].push_back(tensor_header(t));
  return with_tail(j, r.outputs, header_length);
}

}  // namespace dec::serve
