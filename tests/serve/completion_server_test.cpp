// CompletionServer before and after it has a model to serve: /health says 503 "Loading model"
// (as llama.cpp's server does) and completions are refused with 503, then both answer.
#include <genrnn/serving.hpp>
#include <gtest/gtest.h>
#include <httplib.h>

#include "tools/gen_cuda/completion_server.hpp"

namespace gen_cuda {
namespace {

TEST(CompletionServer, HealthIs503UntilAModelIsServed) {
  ServeOptions options;
  options.port = 0;
  options.model_name = "small";
  CompletionServer server(options);
  const int port = server.listen();
  httplib::Client client("127.0.0.1", port);
  const auto loading = client.Get("/health");
  ASSERT_TRUE(loading);
  EXPECT_EQ(loading->status, 503);
  EXPECT_NE(loading->body.find("\"Loading model\""), std::string::npos) << loading->body;
  const auto refused = client.Post("/v1/completions", R"({"prompt": "ab"})", "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_NE(refused->body.find("unavailable_error"), std::string::npos) << refused->body;

  auto tokenizer = genrnn::Tokenizer::build(genrnn::TokenizerKind::character, "abc d", 0);
  const genrnn::ModelConfig config{genrnn::CellType::gru, 1, 16, 0, tokenizer.size(), genrnn::TokenizerKind::character};
  genrnn::StreamScheduler scheduler(genrnn::Model::initialize(config, std::move(tokenizer), 1),
                                    genrnn::EngineOptions{genrnn::Device::cpu}, {2, 4});
  server.serve(scheduler);
  const auto ready = client.Get("/health");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  const auto completion = client.Post("/v1/completions", R"({"prompt": "ab", "max_tokens": 7})", "application/json");
  ASSERT_TRUE(completion);
  EXPECT_EQ(completion->status, 200) << completion->body;
  EXPECT_NE(completion->body.find("\"completion_tokens\":7"), std::string::npos) << completion->body;
  client.stop();
  EXPECT_TRUE(server.stop(std::chrono::seconds(10)));
}

}  // namespace
}  // namespace gen_cuda
