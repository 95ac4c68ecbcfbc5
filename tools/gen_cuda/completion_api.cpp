#include "completion_api.hpp"

#include <genrnn/error.hpp>
#include <genrnn/limits.hpp>

#include <cmath>
#include <sstream>

namespace gen_cuda {
namespace {

using nlohmann::json;

// The field `name` of `body`, or null where it is absent.
const json& field(const json& body, const char* name) {
  static const json absent;
  const auto it = body.find(name);
  return it == body.end() ? absent : *it;
}

int integer_in(const json& body, const char* name, int fallback, int low, int high) {
  const json& value = field(body, name);
  if (value.is_null()) return fallback;
  if (!value.is_number_integer()) throw invalid_request(std::string(name) + " must be an integer", name);
  const int64_t number = value.get<int64_t>();
  if (number < low || number > high)
    throw invalid_request(std::string(name) + " must be in [" + std::to_string(low) + ", " + std::to_string(high) +
                              "], not " + value.dump(),
                          name);
  return static_cast<int>(number);
}

float number_in(const json& body, const char* name, float fallback, double low, bool low_included, double high) {
  const json& value = field(body, name);
  if (value.is_null()) return fallback;
  if (!value.is_number()) throw invalid_request(std::string(name) + " must be a number", name);
  const double number = value.get<double>();
  if (!(low_included ? number >= low : number > low) || !(number <= high)) {
    std::ostringstream range;
    range << (low_included ? "[" : "(") << low << ", " << high << "]";
    throw invalid_request(std::string(name) + " must be in " + range.str() + ", not " + value.dump(), name);
  }
  return static_cast<float>(number);
}

bool boolean(const json& body, const char* name) {
  const json& value = field(body, name);
  if (value.is_null()) return false;
  if (!value.is_boolean()) throw invalid_request(std::string(name) + " must be true or false", name);
  return value.get<bool>();
}

// A string, or a list of strings (OpenAI's `prompt` and `stop`).
std::vector<std::string> strings(const json& value, const char* name, std::size_t at_most) {
  if (value.is_string()) return {value.get<std::string>()};
  const std::string expected =
      std::string(name) + " must be a string or a list of at most " + std::to_string(at_most) + " strings";
  if (!value.is_array() || value.empty() || value.size() > at_most) throw invalid_request(expected, name);
  std::vector<std::string> result;
  for (const json& item : value) {
    if (!item.is_string()) throw invalid_request(expected, name);
    result.push_back(item.get<std::string>());
  }
  return result;
}

// OpenAI fields genrnn does not implement, refused unless they ask for nothing.
void refuse_unsupported(const json& body) {
  const json& suffix = field(body, "suffix");
  if (!suffix.is_null() && suffix != "") throw invalid_request("suffix is not supported", "suffix");
  const json& best_of = field(body, "best_of");
  if (!best_of.is_null() && best_of != 1) throw invalid_request("best_of is not supported", "best_of");
  const json& bias = field(body, "logit_bias");
  if (!bias.is_null() && !bias.empty()) throw invalid_request("logit_bias is not supported", "logit_bias");
  for (const char* penalty : {"presence_penalty", "frequency_penalty"}) {
    const json& value = field(body, penalty);
    if (!value.is_null() && value != 0) throw invalid_request(std::string(penalty) + " is not supported", penalty);
  }
}

}  // namespace

ApiError invalid_request(const std::string& message, const std::string& param) {
  return ApiError(400, "invalid_request_error", message, param);
}

nlohmann::json error_json(const std::string& message, const std::string& type, const std::string& param) {
  return {{"error",
           {{"message", message},
            {"type", type},
            {"param", param.empty() ? json(nullptr) : json(param)},
            {"code", nullptr}}}};
}

CompletionRequest parse_completion_request(const std::string& body_text, const genrnn::Tokenizer& tokenizer,
                                           const CompletionLimits& limits) {
  const json body = json::parse(body_text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) throw invalid_request("the body is not valid JSON");
  if (!body.is_object()) throw invalid_request("the body must be a JSON object");
  refuse_unsupported(body);
  const json& model = field(body, "model");
  if (!model.is_null() && !model.is_string()) throw invalid_request("model must be a string", "model");
  const json& user = field(body, "user");
  if (!user.is_null() && !user.is_string()) throw invalid_request("user must be a string", "user");

  CompletionRequest request;
  const json& prompt = field(body, "prompt");
  if (prompt.is_null()) throw invalid_request("prompt is required", "prompt");
  request.prompts = strings(prompt, "prompt", limits.max_prompts);
  for (std::size_t k = 0; k < request.prompts.size(); ++k) {
    const std::string& text = request.prompts[k];
    const std::string which = request.prompts.size() > 1 ? "prompt " + std::to_string(k) : "the prompt";
    if (text.size() > genrnn::limits::max_prompt_bytes)
      throw invalid_request(which + " is " + std::to_string(text.size()) + " bytes; the limit is " +
                                std::to_string(genrnn::limits::max_prompt_bytes),
                            "prompt");
    try {
      request.prompt_ids.push_back(tokenizer.encode(text, genrnn::UnknownPolicy::error));
    } catch (const genrnn::Error& error) {
      // The tokenizer's hint names gen_cuda's --unknown flag, which a request does not have.
      std::string message = error.what();
      message = message.substr(0, message.find("; use --unknown"));
      throw invalid_request(which + ": " + message, "prompt");
    }
    if (request.prompt_ids.back().empty())
      throw invalid_request(which + " is empty: give at least one token to start from", "prompt");
  }
  request.max_tokens = integer_in(body, "max_tokens", 16, 1, limits.max_tokens);
  request.n = integer_in(body, "n", 1, 1, limits.max_n);
  if (request.choices() > limits.max_streams)
    throw invalid_request("the request has " + std::to_string(request.choices()) +
                              " choices (n for each prompt); the server runs or queues at most " +
                              std::to_string(limits.max_streams) + " streams",
                          "n");
  std::size_t prefill_tokens = 0;  // each choice prefills its prompt
  for (const auto& ids : request.prompt_ids) prefill_tokens += ids.size() * static_cast<std::size_t>(request.n);
  if (prefill_tokens > limits.max_prompt_tokens)
    throw invalid_request("the prompts come to " + std::to_string(prefill_tokens) +
                              " tokens to prefill (each prompt's tokens times n); the limit is " +
                              std::to_string(limits.max_prompt_tokens),
                          "prompt");
  const genrnn::SamplingOptions defaults;
  request.sampling.temperature = number_in(body, "temperature", defaults.temperature, 0, true, 2);
  request.sampling.top_p = number_in(body, "top_p", defaults.top_p, 0, false, 1);
  request.sampling.top_k = integer_in(body, "top_k", defaults.top_k, 0, genrnn::limits::max_vocab_size);
  const json& seed = field(body, "seed");
  if (!seed.is_null()) {
    if (!seed.is_number_unsigned()) throw invalid_request("seed must be an integer in [0, 2^64)", "seed");
    request.sampling.seed = seed.get<uint64_t>();
    request.seed_given = true;
  }
  request.stream = boolean(body, "stream");
  request.echo = boolean(body, "echo");
  const json& stop = field(body, "stop");
  if (!stop.is_null() && stop != json::array()) {
    request.stops = strings(stop, "stop", 4);
    for (const std::string& text : request.stops)
      if (text.empty() || text.size() > genrnn::ScheduledStream::max_stop_bytes)
        throw invalid_request(
            "a stop string must have 1 to " + std::to_string(genrnn::ScheduledStream::max_stop_bytes) + " bytes",
            "stop");
  }
  if (!field(body, "logprobs").is_null()) request.logprobs = integer_in(body, "logprobs", -1, 0, limits.max_logprobs);
  return request;
}

nlohmann::json logprobs_json(const std::vector<genrnn::StreamToken>& tokens, std::size_t& offset) {
  json pieces = json::array(), logprobs = json::array(), top = json::array(), model_top = json::array(),
       offsets = json::array();
  for (const genrnn::StreamToken& token : tokens) {
    pieces.push_back(token.piece);
    logprobs.push_back(token.logprob);
    json drawn = json::object(), model = json::object();
    for (const genrnn::TokenAlternative& alternative : token.top) {
      if (std::isfinite(alternative.logprob)) drawn[alternative.piece] = alternative.logprob;
      if (std::isfinite(alternative.model_logprob)) model[alternative.piece] = alternative.model_logprob;
    }
    top.push_back(std::move(drawn));
    model_top.push_back(std::move(model));
    offsets.push_back(offset);
    offset += token.piece.size();
  }
  return {{"tokens", pieces},
          {"token_logprobs", logprobs},
          {"top_logprobs", top},
          {"model_top_logprobs", model_top},
          {"text_offset", offsets}};
}

nlohmann::json finish_reason_json(genrnn::StreamEnd end) {
  switch (end) {
    case genrnn::StreamEnd::length: return "length";
    case genrnn::StreamEnd::stop: return "stop";
    default: return nullptr;
  }
}

}  // namespace gen_cuda
