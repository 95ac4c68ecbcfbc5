#pragma once
// gen_cuda serve's wire format: OpenAI's legacy completions request, checked, and the JSON of
// its errors. What a field means and its bounds follow OpenAI's reference, with genrnn's own
// sampling defaults (genrnn::SamplingOptions) and top_k added.
#include <genrnn/sampling.hpp>
#include <genrnn/serving.hpp>
#include <genrnn/tokenizer.hpp>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace gen_cuda {

// A request the server refuses: the HTTP status, OpenAI's error type and the field at fault.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string type, std::string message, std::string param = "")
      : std::runtime_error(std::move(message)), status(status), type(std::move(type)), param(std::move(param)) {}
  int status;
  std::string type;
  std::string param;
};

// 400 invalid_request_error for `param`.
ApiError invalid_request(const std::string& message, const std::string& param = "");

// {"error": {"message", "type", "param", "code"}}; param null when there is none.
nlohmann::json error_json(const std::string& message, const std::string& type, const std::string& param = "");

struct CompletionLimits {
  int max_tokens = 4096;  // per choice
  int max_n = 16;         // choices per prompt
  int max_prompts = 16;   // prompts per request
  int max_logprobs = 20;  // OpenAI allows 5; the page asks for 10
  // Prefill holds every prompt token's activations, and other streams wait while it runs.
  std::size_t max_prompt_tokens = 65536;  // prompt tokens times n, over the request's prompts
  int max_streams = 1 << 30;              // choices a request may have: the scheduler's slots and queue
};

struct CompletionRequest {
  std::vector<std::string> prompts;          // one or more
  std::vector<std::vector<int>> prompt_ids;  // each prompt's tokens
  int max_tokens = 16;
  int n = 1;
  genrnn::SamplingOptions sampling;  // seed: the request's, or drawn for it
  bool seed_given = false;
  bool stream = false;
  std::vector<std::string> stops;
  int logprobs = -1;  // -1: none
  bool echo = false;
  int choices() const { return static_cast<int>(prompts.size()) * n; }  // choice k: prompt k / n
};

// Parses and checks a request body, tokenizing its prompts with `tokenizer` (text outside the
// vocabulary is refused, naming it). Throws ApiError.
CompletionRequest parse_completion_request(const std::string& body, const genrnn::Tokenizer& tokenizer,
                                           const CompletionLimits& limits);

// A choice's `logprobs` for `tokens`, the first of which starts at byte `offset` of the choice's
// text (advanced past them): OpenAI's tokens, token_logprobs, top_logprobs (token text, as it
// would follow the text, to its log-probability in the distribution drawn from; the excluded
// left out) and text_offset, and genrnn's model_top_logprobs (the same tokens at temperature 1).
nlohmann::json logprobs_json(const std::vector<genrnn::StreamToken>& tokens, std::size_t& offset);

// OpenAI's finish_reason: null while running, "length" or "stop".
nlohmann::json finish_reason_json(genrnn::StreamEnd end);

}  // namespace gen_cuda
