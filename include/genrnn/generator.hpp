#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "genrnn/device.hpp"
#include "genrnn/model.hpp"
#include "genrnn/sampling.hpp"
#include "genrnn/state.hpp"

namespace genrnn {

class Engine;

struct GenerateOptions {
  int length = 200;       // tokens generated after the prompt, per stream
  int num_samples = 1;    // independent streams, generated as one batch
  SamplingOptions sampling;
  UnknownPolicy unknown = UnknownPolicy::error;
  // A stream ends once its generated text contains `stop` (kept, and nothing after it).
  std::string stop;
};

// Called once per generated token: the stream, the token id and its text piece.
using TokenCallback = std::function<void(int stream, int token, const std::string& piece)>;

// Runs the prompt through the model once, then generates token by token, carrying the state.
class Generator {
 public:
  // `engine`: "auto", "cpu" or "cudnn" (see choose_engine).
  Generator(const Model& model, Device device, const std::string& engine = "auto");
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  const std::string& engine_name() const;
  // Returns each stream's generated text (without the prompt). Generation ends at `length`
  // tokens, or when every stream has met options.stop. `initial` replaces the zero
  // state the prompt starts from (e.g. an encoder's output); its batch must be num_samples.
  std::vector<std::string> generate(const std::string& prompt, const GenerateOptions& options,
                                    const TokenCallback& on_token = {},
                                    const RecurrentState* initial = nullptr);

 private:
  const Model& model_;
  std::unique_ptr<Engine> engine_;
  std::string engine_name_;
};

}  // namespace genrnn
