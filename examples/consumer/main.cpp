// Trains a tiny character model on a rhyme and prints what it generates.
#include <genrnn/genrnn.hpp>

#include <iostream>

int main() {
  try {
    std::string text;
    for (int i = 0; i < 60; ++i) text += "twinkle twinkle little star, how I wonder what you are.\n";

    auto tokenizer = genrnn::Tokenizer::build(genrnn::TokenizerKind::character, text, 0);
    genrnn::ModelConfig config;
    config.cell = genrnn::CellType::lstm;
    config.hidden_size = 64;
    config.embedding_dim = 16;
    config.vocab_size = tokenizer.size();
    auto model = genrnn::Model::initialize(config, std::move(tokenizer), /*seed=*/1);

    genrnn::TrainOptions options;
    options.seq_len = 32;
    options.batch = 8;
    options.steps = 150;
    options.step.learning_rate = 1e-2f;
    options.val_frac = 0;
    options.out_path = "tiny_poet.safetensors";
    options.engine.device = genrnn::Device::cpu;
    const auto ids = model.tokenizer.encode(text, genrnn::UnknownPolicy::error);
    genrnn::Trainer trainer(model, ids, options);
    trainer.run([](const genrnn::TrainProgress& p) {
      if (p.step == p.total_steps) std::cerr << "final loss " << p.train_loss << "\n";
    });

    genrnn::Generator generator(trainer.model(), genrnn::Device::cpu);
    genrnn::GenerateOptions generate;
    generate.length = 60;
    generate.sampling.temperature = 0.5f;
    generate.sampling.seed = 7;
    std::cout << "twinkle";
    generator.generate("twinkle", generate, [](int, int, const std::string& piece) { std::cout << piece; });
    std::cout << "\n";
  } catch (const genrnn::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
