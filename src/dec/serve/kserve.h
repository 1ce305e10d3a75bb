// The Open Inference Protocol (KServe v2) over HTTP/JSON: the infer request
// and response bodies, with the binary tensor data extension.
//
// JSON form (application/json):
//   request  {"id": "...", "parameters": {...},
//             "inputs": [{"name", "shape": [N, ...], "datatype": "FP32", "data": [...]}],
//             "outputs": [{"name", "parameters": {"binary_data": true}}]}
//   response {"model_name", "id", "parameters": {...},
//             "outputs": [{"name", "shape", "datatype": "FP32", "data": [...]}]}
// `data` is row-major, flat or nested. Binary form: the body is the JSON header
// followed by the raw little-endian tensors in the order of the header's
// tensors that carry "parameters": {"binary_data_size": bytes}; the HTTP header
// Inference-Header-Content-Length gives the JSON header's length. DEC sends
// tensors between tiers so: 4 bytes a float instead of up to 20 characters of text.
//
// Only FP32 tensors are served (DEC's models take and give fp32).
// Errors: ProtocolError with the HTTP status and the message the server
// answers as {"error": "<message>"}.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace dec::serve {

inline constexpr const char* kInferenceHeaderLength = "Inference-Header-Content-Length";

class ProtocolError : public std::runtime_error {
 public:
  ProtocolError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;     // row-major, product(shape) values
  bool binary = false;         // sent (or to be sent) as binary data
  nlohmann::json parameters = nlohmann::json::object();  // as received, binary_data_size removed
};

struct RequestedOutput {
  std::string name;
  bool binary = false;
};

struct InferRequest {
  std::string id;
  nlohmann::json parameters = nlohmann::json::object();
  std::vector<Tensor> inputs;
  std::vector<RequestedOutput> outputs;  // empty: every output, as JSON
};

struct InferResponse {
  std::string model_name;
  std::string id;
  nlohmann::json parameters = nlohmann::json::object();
  std::vector<Tensor> outputs;
};

// A body as received, split into its JSON header and binary tail.
// `header_length` is Inference-Header-Content-Length's value ("" when absent:
// the whole body is JSON). Throws ProtocolError 400 when the value is not a
// length within the body, or the JSON is malformed or nested deeper than 64.
struct Body {
  nlohmann::json header;
  std::string_view tail;
};
Body split_body(const std::string& body, const std::string& header_length);

// Parse and validate the structure (names, shapes, datatypes, data sizes);
// throw ProtocolError 400 naming the field that is wrong.
InferRequest parse_infer_request(const Body& body);
InferResponse parse_infer_response(const Body& body);

// Serialise; tensors with `binary` set go after the JSON header, and
// `header_length` receives the JSON header's length (the whole body's when
// no tensor is binary: then send no Inference-Header-Content-Length).
std::string write_infer_request(const InferRequest& r, size_t* header_length);
std::string write_infer_response(const InferResponse& r, size_t* header_length);

int64_t element_count(const std::vector<int64_t>& shape);

}  // namespace dec::serve
