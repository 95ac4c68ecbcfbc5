// A checkpoint file as a whole (file -> Model: header, config and vocabulary metadata, tensors
// against the config): it either throws genrnn::Error or gives a model that saves and loads
// back identical.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>

#include "genrnn/error.hpp"
#include "genrnn/model.hpp"
#include "tests/fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace genrnn;
  std::optional<Model> loaded;
  try {
    loaded = Model::load(fuzz::input_file(data, size, "input.safetensors"));
  } catch (const Error&) {
    return 0;
  }
  const Model& model = *loaded;
  const std::string copy = fuzz::scratch_path("copy.safetensors");
  model.save(copy);
  const Model again = Model::load(copy);
  fuzz::require(again.config.cell == model.config.cell && again.config.num_layers == model.config.num_layers &&
                    again.config.hidden_size == model.config.hidden_size &&
                    again.config.embedding_dim == model.config.embedding_dim &&
                    again.config.vocab_size == model.config.vocab_size &&
                    again.config.tokenizer == model.config.tokenizer,
                "the config survives a save and a load");
  fuzz::require(again.tokenizer.tokens() == model.tokenizer.tokens(), "the vocabulary survives a save and a load");
  fuzz::require(again.parameters.size() == model.parameters.size() &&
                    std::equal(again.parameters.begin(), again.parameters.end(), model.parameters.begin(),
                               [](float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }),
                "the weights survive a save and a load bit for bit");
  return 0;
}
