#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "genrnn/config.hpp"
#include "genrnn/parameters.hpp"
#include "genrnn/tokenizer.hpp"

namespace genrnn {

// A model on the host: its shape, its vocabulary and its weights in PyTorch's layout
// (one flat buffer, tensors as parameter_layout(config) places them).
struct Model {
  ModelConfig config;
  Tokenizer tokenizer;
  std::vector<float> parameters;

  // PyTorch's default initialisation: U(-1/sqrt(H), 1/sqrt(H)) for the RNN and the head,
  // N(0, 1) for the embedding; deterministic in `seed`.
  static Model initialize(const ModelConfig& config, Tokenizer tokenizer, uint64_t seed);
  // A new model for training on `text`: the vocabulary built from it (shape.tokenizer's kind, at
  // word level at most max_vocab tokens), shape.vocab_size set to its size, initialised as above.
  static Model for_text(ModelConfig shape, const std::string& text, int max_vocab, uint64_t seed);
  // A safetensors checkpoint (see README): validated completely before anything is used.
  static Model load(const std::string& path);
  // Written to a temporary file and renamed into place.
  void save(const std::string& path) const;

  const float* tensor(const std::string& name) const;
};

}  // namespace genrnn
