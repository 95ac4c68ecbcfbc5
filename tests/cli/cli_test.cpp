// gen_cuda end to end, through the real binary: its errors, train -> sample -> eval, resume.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "include/genrnn/limits.hpp"
#include "tests/support/exited_process.hpp"
#include "tests/support/scratch_folder.hpp"

namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

struct ProcessResult {
  int exit_status = -1;
  std::string out;
  std::string err;
};

// gen_cuda running with stdout and stderr going to files (no pipes to drain, no shell).
class GenCudaProcess {
 public:
  GenCudaProcess(const fs::path& dir, const std::vector<std::string>& args)
      : out_path_(dir / ("stdout" + std::to_string(++count_))), err_path_(dir / ("stderr" + std::to_string(count_))) {
    std::vector<std::string> argv_strings = {GEN_CUDA_PATH};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      const int in = ::open("/dev/null", O_RDONLY);
      const int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in < 0 || out < 0 || err < 0) ::_exit(126);
      ::dup2(in, STDIN_FILENO);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(err, STDERR_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~GenCudaProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  GenCudaProcess(const GenCudaProcess&) = delete;
  GenCudaProcess& operator=(const GenCudaProcess&) = delete;

  void signal(int number) const { ::kill(pid_, number); }
  std::string stderr_so_far() const { return read_file(err_path_); }

  // Waits (killing a hung run after a minute) and fails the test if a signal ended it.
  ProcessResult wait() {
    ProcessResult result;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "gen_cuda still running after 60 s; killed";
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
    EXPECT_FALSE(WIFSIGNALED(status)) << "gen_cuda killed by signal " << WTERMSIG(status);
    if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
    result.out = read_file(out_path_);
    result.err = read_file(err_path_);
    return result;
  }

 private:
  static inline int count_ = 0;
  fs::path out_path_;
  fs::path err_path_;
  pid_t pid_ = -1;
};

ProcessResult run_gen_cuda(const fs::path& dir, const std::vector<std::string>& args) {
  return GenCudaProcess(dir, args).wait();
}

int count_lines(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

std::string last_line(const std::string& text) {
  const std::string trimmed = text.substr(0, text.find_last_not_of('\n') + 1);
  return trimmed.substr(trimmed.find_last_of('\n') + 1);
}

int count_code_points(const std::string& text) {
  return static_cast<int>(std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::vector<std::string> split(const std::string& text, const std::string& separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t at; (at = text.find(separator, start)) != std::string::npos;) {
    parts.push_back(text.substr(start, at - start));
    start = at + separator.size();
  }
  parts.push_back(text.substr(start));
  return parts;
}

// The CLI's error contract: exit 1 or 2 and exactly one line on stderr, naming the problem.
void expect_one_line_error(const ProcessResult& result, const std::string& names) {
  EXPECT_TRUE(result.exit_status == 1 || result.exit_status == 2) << "exit status " << result.exit_status;
  EXPECT_EQ(count_lines(result.err), 1) << result.err;
  EXPECT_EQ(result.err.rfind("gen_cuda: error: ", 0), 0u) << result.err;
  EXPECT_NE(result.err.find(names), std::string::npos) << "no '" << names << "' in: " << result.err;
}

// Distinct short sentences, no newline (so "\n\n" can only separate samples), to ~20 KB.
std::string small_corpus() {
  const std::vector<std::string> sentences = {"the cat sat on the mat. ", "a dog ran in the park. ",
                                              "the sun is hot today. ",   "we like to read books. ",
                                              "the bird sings at dawn. ", "she drinks green tea. "};
  std::string text;
  for (std::size_t i = 0; text.size() < 20000; ++i) text += sentences[i * 7 % sentences.size()];
  return text;
}

double json_value(const std::string& json, const std::string& key) {
  const std::regex pattern("\"" + key + "\": ?([-+0-9.eE]+)");
  std::smatch match;
  if (!std::regex_search(json, match, pattern)) {
    ADD_FAILURE() << "no number for \"" << key << "\" in: " << json;
    return NAN;
  }
  return std::stod(match[1]);
}

// ---------------------------------------------------------------------------------------------
// Arguments and files that are wrong: no model needed.

class CliErrors : public testing::Test {
 protected:
  void SetUp() override {
    write_file(corpus_, small_corpus());
    write_file(placeholder_model_, "not read: parsing fails first");
    write_file(dir_ / "huge.txt", "x");
    fs::resize_file(dir_ / "huge.txt", genrnn::limits::max_prompt_bytes + 1);
    // Sparse: a corpus no machine here has 24 TiB of memory to tokenize, refused before reading.
    write_file(dir_ / "terabyte.txt", "x");
    fs::resize_file(dir_ / "terabyte.txt", uintmax_t{1} << 40);
  }
  ProcessResult run(const std::vector<std::string>& args) { return run_gen_cuda(dir_, args); }
  std::vector<std::string> train_args(std::vector<std::string> extra) const {
    std::vector<std::string> args = {"train", "--data", corpus_.string(), "--out",
                                     (dir_ / "model.safetensors").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  std::vector<std::string> sample_args(std::vector<std::string> extra) const {
    std::vector<std::string> args = {"sample", "-m", placeholder_model_.string(), "-p", "the"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  genrnn::testing::ScratchFolder folder_;
  fs::path dir_ = folder_.path();
  fs::path corpus_ = dir_ / "corpus.txt";
  fs::path placeholder_model_ = dir_ / "placeholder.safetensors";
};

TEST_F(CliErrors, HelpAndVersionExitZeroOnStdout) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, {"train", "--help"}, {"--version"}}) {
    const ProcessResult result = run(args);
    EXPECT_EQ(result.exit_status, 0) << args[0];
    EXPECT_FALSE(result.out.empty()) << args[0];
    EXPECT_EQ(result.err, "") << args[0];
  }
  EXPECT_NE(run({"train", "--help"}).out.find("--checkpoint-every"), std::string::npos);
}

TEST_F(CliErrors, NoSubcommandIsAUsageError) {
  const ProcessResult result = run({});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_EQ(count_lines(result.err), 1) << result.err;
}

TEST_F(CliErrors, BadValuesNameTheOption) {
  const struct {
    std::vector<std::string> args;
    std::string names;
  } cases[] = {
      {train_args({"--hidden", "0"}), "--hidden"},
      {train_args({"--layers", "65"}), "--layers"},
      {train_args({"--dropout", "1"}), "--dropout"},
      {train_args({"--cell", "transformer"}), "--cell"},
      {train_args({"--steps", "10", "--epochs", "2"}), "--epochs"},
      {train_args({"--bogus"}), "--bogus"},
      {{"train", "--data", (dir_ / "missing.txt").string(), "--out", "m.safetensors"}, "missing.txt"},
      {{"train", "--data", corpus_.string()}, "--out"},
      {{"train", "--data", corpus_.string(), "--out", (dir_ / "no/such/m.safetensors").string()}, "no/such"},
      {sample_args({"--temp", "-1"}), "--temp"},
      {train_args({"--time-limit", "-5"}), "--time-limit"},
      {sample_args({"--top-p", "1.5"}), "--top-p"},
      {sample_args({"--num-samples", "0"}), "--num-samples"},
      {sample_args({"--unknown", "ignore"}), "--unknown"},
      {sample_args({"--device", "tpu"}), "--device"},
      {sample_args({"--decoder", "fast"}), "--decoder"},
      {sample_args({"--threads", "0"}), "--threads"},
      {sample_args({"--gpu", "-1"}), "--gpu"},
      {train_args({"--gpu", "first"}), "--gpu"},
      {train_args({"--threads", "many"}), "--threads"},
      {{"sample", "-m", placeholder_model_.string()}, "--prompt or --prompt-file is required"},
      {sample_args({"--prompt-file", corpus_.string()}), "--prompt"},
      // Found by tests/fuzz/cli_fuzzer: an empty argument made CLI11 parse forever.
      {sample_args({"", "--temp", "0.5"}), "not expected"},
      {{"train", "--data", corpus_.string(), "--out", (corpus_ / "m.safetensors").string()}, "is not a folder"},
      {{"sample", "-m", placeholder_model_.string(), "--prompt-file", (dir_ / "huge.txt").string()},
       "larger than 1.0 MiB"},
      {{"train", "--data", (dir_ / "terabyte.txt").string(), "--out", "m.safetensors"}, "bytes of memory per byte"},
  };
  for (const auto& bad : cases) {
    SCOPED_TRACE(bad.names);
    expect_one_line_error(run(bad.args), bad.names);
  }
}

TEST_F(CliErrors, InvalidUtf8DataNamesTheByte) {
  const fs::path data = dir_ / "latin1.txt";
  write_file(data, small_corpus() + "caf\xe9 au lait");
  expect_one_line_error(
      run({"train", "--data", data.string(), "--out", (dir_ / "m.safetensors").string(), "--device", "cpu"}), "byte");
}

TEST_F(CliErrors, EmptyDataFile) {
  const fs::path data = dir_ / "empty.txt";
  write_file(data, "");
  expect_one_line_error(run({"train", "--data", data.string(), "--out", (dir_ / "m.safetensors").string()}), "empty");
}

TEST_F(CliErrors, CorruptModelFile) {
  std::string noise(4096, '\0');
  unsigned state = 12345;
  for (char& byte : noise) byte = static_cast<char>((state = state * 1103515245u + 12345u) >> 24);
  const fs::path model = dir_ / "noise.safetensors";
  write_file(model, noise);
  expect_one_line_error(run({"sample", "-m", model.string(), "-p", "the", "-s", "1"}), "");
  expect_one_line_error(run({"eval", "-m", model.string(), "--data", corpus_.string()}), "");
  expect_one_line_error(run({"info", "-m", model.string()}), "");
}

// The largest model the options allow (about 512 GiB): refused before it is allocated, in one
// line that says how much memory it needs.
TEST_F(CliErrors, AModelTooLargeForTheMachineSaysHowMuchMemoryItNeeds) {
  const double memory = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGESIZE);
  if (memory >= 512.0 * (1 << 30)) GTEST_SKIP() << "this machine may have the memory for it";
  const auto started = std::chrono::steady_clock::now();
  const ProcessResult result =
      run(train_args({"--layers", "64", "--hidden", "16384", "--embed", "16384", "--steps", "1", "--device", "cpu"}));
  expect_one_line_error(result, "out of memory for the model's ");
  EXPECT_EQ(result.exit_status, 1);
  EXPECT_NE(result.err.find("parameters: 512.0 GiB needed, "), std::string::npos) << result.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST_F(CliErrors, CudaWithoutAGpu) {
  const ProcessResult info = run({"info"});
  ASSERT_EQ(info.exit_status, 0) << info.err;
  if (info.out.find("GPUs: none") == std::string::npos) GTEST_SKIP() << "this machine has a GPU";
  expect_one_line_error(run(train_args({"--steps", "1", "--device", "cuda"})), "cuda");
}

// ---------------------------------------------------------------------------------------------
// A small model, trained afresh for each test (a fraction of a second), then sampled,
// evaluated, inspected and trained further.

class CliEndToEnd : public testing::Test {
 protected:
  void SetUp() override {
    write_file(corpus(), small_corpus());
    train_result_ = run(train_args(model(), {"--steps", "60", "--log-csv", csv().string()}));
    ASSERT_EQ(train_result_.exit_status, 0) << train_result_.err;
  }

  fs::path corpus() const { return dir_ / "corpus.txt"; }
  fs::path model() const { return dir_ / "model.safetensors"; }
  fs::path csv() const { return dir_ / "log.csv"; }
  // The suite's small, fast configuration; --lr 0.01 as in the lesson, to learn in few steps.
  std::vector<std::string> train_args(const fs::path& out, std::vector<std::string> extra) const {
    // clang-format off
    std::vector<std::string> args = {
        "train", "--data", corpus().string(), "--out", out.string(),
        "--hidden", "32", "--layers", "1", "--embed", "16", "--seq-len", "20", "--batch", "8",
        "--lr", "0.01", "--eval-every", "20", "--device", "cpu"};
    // clang-format on
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  ProcessResult run(const std::vector<std::string>& args) const { return run_gen_cuda(dir_, args); }
  ProcessResult sample(std::vector<std::string> extra) const {
    std::vector<std::string> args = {"sample", "-m", model().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }
  double eval_loss(const fs::path& model_path) const {
    const ProcessResult result = run({"eval", "-m", model_path.string(), "--data", corpus().string(), "--json"});
    EXPECT_EQ(result.exit_status, 0) << result.err;
    return json_value(result.out, "loss");
  }
  static int vocab_size() {
    const std::string text = small_corpus();
    return static_cast<int>(std::set<char>(text.begin(), text.end()).size());
  }

  genrnn::testing::ScratchFolder folder_;
  fs::path dir_ = folder_.path();
  ProcessResult train_result_;
};

TEST_F(CliEndToEnd, TrainReportsAndLogs) {
  const std::string& err = train_result_.err;
  EXPECT_NE(err.find("engine: cpu"), std::string::npos) << err;
  EXPECT_NE(err.find("step 60/60"), std::string::npos) << err;  // stderr is not a terminal
  EXPECT_NE(err.find("bpc"), std::string::npos) << err;
  EXPECT_NE(err.find("model saved to " + model().string()), std::string::npos) << err;
  EXPECT_EQ(train_result_.out, "");
  EXPECT_TRUE(fs::exists(model()));

  const std::vector<std::string> rows = split(read_file(csv()), "\n");
  ASSERT_EQ(rows.size(), 62u);  // header, 60 steps, the empty piece after the last newline
  EXPECT_EQ(rows[0], "step,train_loss,val_loss,tokens_per_second,elapsed_seconds,tokens");
  EXPECT_EQ(rows[1].rfind("1,", 0), 0u) << rows[1];
  EXPECT_EQ(std::count(rows[20].begin(), rows[20].end(), ','), 5) << rows[20];
  EXPECT_EQ(split(rows[20], ",")[5], std::to_string(20 * 8 * 20));  // steps x --batch x --seq-len
  EXPECT_EQ(split(rows[19], ",")[2], "");                           // step 19: no validation
  EXPECT_NE(split(rows[20], ",")[2], "") << rows[20];               // step 20: --eval-every 20
}

TEST_F(CliEndToEnd, TrainRemovesWhatAKilledRunLeftAndSaysSo) {
  const fs::path out = dir_ / "again.safetensors";
  const fs::path stale = out.string() + ".tmp." + std::to_string(genrnn::testing::pid_of_an_exited_process());
  write_file(stale, "half a checkpoint");
  const ProcessResult result = run(train_args(out, {"--steps", "2"}));
  ASSERT_EQ(result.exit_status, 0) << result.err;
  EXPECT_NE(result.err.find("note: removed " + stale.string()), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(stale));
}

TEST_F(CliEndToEnd, ATimeLimitEndsTrainingAndSaysSo) {
  // A microsecond runs out during the first step on any machine: no timing is asserted.
  const fs::path out = dir_ / "timed.safetensors";
  const ProcessResult result = run(train_args(out, {"--steps", "1000000000", "--time-limit", "0.000001"}));
  ASSERT_EQ(result.exit_status, 0) << result.err;
  EXPECT_NE(result.err.find("stopped at the time limit"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("of 1000000000"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("model saved to " + out.string()), std::string::npos) << result.err;
  EXPECT_TRUE(fs::exists(out));
  EXPECT_TRUE(fs::exists(out.string() + ".optim"));
}

TEST_F(CliEndToEnd, SampleIsPromptThenTextAndRepeatsWithItsSeed) {
  const std::vector<std::string> args = {"-p", "the", "-n", "50", "-s", "7", "--temp", "0.5"};
  const ProcessResult first = sample(args);
  ASSERT_EQ(first.exit_status, 0) << first.err;
  ASSERT_EQ(first.out.rfind("the", 0), 0u) << first.out;
  EXPECT_EQ(count_code_points(first.out.substr(3)), 50) << first.out;
  EXPECT_EQ(first.err.find("seed:"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("engine: "), std::string::npos) << first.err;

  EXPECT_EQ(sample(args).out, first.out);
  std::vector<std::string> other_seed = args;
  other_seed[5] = "8";
  EXPECT_NE(sample(other_seed).out, first.out);
}

TEST_F(CliEndToEnd, BeamSearchIsDeterministicAndJsonScoresItsOutputs) {
  const std::vector<std::string> args = {"-p", "the", "-n", "20", "--beam-width", "4", "--num-samples", "2"};
  const ProcessResult first = sample(args);
  ASSERT_EQ(first.exit_status, 0) << first.err;
  EXPECT_EQ(first.err.find("seed:"), std::string::npos) << first.err;  // nothing is drawn
  const std::vector<std::string> samples = split(first.out, "\n\n");
  ASSERT_EQ(samples.size(), 2u) << first.out;
  for (const std::string& text : samples) EXPECT_EQ(text.rfind("the", 0), 0u) << text;
  EXPECT_EQ(sample(args).out, first.out);

  std::vector<std::string> json = args;
  json.push_back("--json");
  const ProcessResult scored = sample(json);
  ASSERT_EQ(scored.exit_status, 0) << scored.err;
  EXPECT_EQ(count_lines(scored.out), 1) << scored.out;
  EXPECT_EQ(scored.out.rfind("{\"prompt\":\"the\",\"outputs\":[{\"text\":", 0), 0u) << scored.out;
  EXPECT_NE(scored.out.find("\"ids\":["), std::string::npos) << scored.out;
  EXPECT_LT(json_value(scored.out, "logprob"), 0) << scored.out;

  expect_one_line_error(sample({"-p", "the", "--beam-width", "2", "--num-samples", "3"}), "at most its width");
}

TEST_F(CliEndToEnd, GreedyNeedsNoSeed) {
  const ProcessResult first = sample({"-p", "the", "-n", "30", "--temp", "0"});
  ASSERT_EQ(first.exit_status, 0) << first.err;
  EXPECT_NE(first.err.find("seed: "), std::string::npos) << first.err;  // drawn, and said
  EXPECT_EQ(sample({"-p", "the", "-n", "30", "--temp", "0"}).out, first.out);
}

TEST_F(CliEndToEnd, NumSamplesPrintsEachWithItsPrompt) {
  const ProcessResult result = sample({"-p", "a ", "-n", "20", "-s", "3", "--num-samples", "3"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const std::vector<std::string> samples = split(result.out, "\n\n");
  ASSERT_EQ(samples.size(), 3u) << result.out;
  for (const std::string& text : samples) {
    EXPECT_EQ(text.rfind("a ", 0), 0u) << text;
    EXPECT_EQ(count_code_points(text), 2 + 20) << text;
  }
}

TEST_F(CliEndToEnd, PromptFromFile) {
  write_file(dir_ / "prompt.txt", "the cat");
  const ProcessResult result = sample({"--prompt-file", (dir_ / "prompt.txt").string(), "-n", "5", "-s", "1"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out.rfind("the cat", 0), 0u) << result.out;
  EXPECT_EQ(count_code_points(result.out), 7 + 5);
}

TEST_F(CliEndToEnd, EmptyPrompt) {
  expect_one_line_error(sample({"-p", "", "-s", "1"}), "prompt");
  expect_one_line_error(sample({"-p", "@#", "-s", "1", "--unknown", "skip"}), "prompt");
}

TEST_F(CliEndToEnd, UnknownPromptCharacter) {
  expect_one_line_error(sample({"-p", "the @", "-n", "5", "-s", "1"}), "@");
  const ProcessResult skipped = sample({"-p", "the @", "-n", "5", "-s", "1", "--unknown", "skip"});
  EXPECT_EQ(skipped.exit_status, 0) << skipped.err;
  EXPECT_EQ(skipped.out.rfind("the @", 0), 0u) << skipped.out;
}

TEST_F(CliEndToEnd, OnlyTheGpuEnginesTakeADecoder) {
  expect_one_line_error(sample({"-p", "the", "-s", "1", "--device", "cpu", "--decoder", "persistent"}),
                        "--decoder persistent");
  const ProcessResult on_cpu = sample({"-p", "the", "-n", "5", "-s", "1", "--device", "cpu", "--decoder", "auto"});
  EXPECT_EQ(on_cpu.exit_status, 0) << on_cpu.err;
  EXPECT_EQ(on_cpu.err.find("decoder:"), std::string::npos) << on_cpu.err;  // the CPU has one decoder
}

TEST_F(CliEndToEnd, AGpuNumberMattersOnlyToAGpuEngine) {
  const ProcessResult on_cpu = sample({"-p", "the", "-n", "5", "-s", "1", "--device", "cpu", "--gpu", "7"});
  EXPECT_EQ(on_cpu.exit_status, 0) << on_cpu.err;
  // An eighth GPU is past what a machine here has: one line naming it, or the reason there is no
  // GPU to choose from (no CUDA in this build, or no GPU on this machine).
  const ProcessResult eighth = sample({"-p", "the", "-n", "5", "-s", "1", "--device", "cuda", "--gpu", "7"});
  const bool no_gpu = eighth.err.find("--device cuda") != std::string::npos;
  expect_one_line_error(eighth, no_gpu ? "--device cuda" : "--gpu 7");
}

TEST_F(CliEndToEnd, EvalJsonAndText) {
  const ProcessResult json = run({"eval", "-m", model().string(), "--data", corpus().string(), "--json"});
  ASSERT_EQ(json.exit_status, 0) << json.err;
  EXPECT_EQ(count_lines(json.out), 1) << json.out;
  const double loss = json_value(json.out, "loss");
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_LT(loss, std::log(vocab_size()));  // learned more than a uniform guess
  EXPECT_NEAR(json_value(json.out, "bits_per_token"), loss / std::log(2.0), 1e-9);
  EXPECT_NEAR(json_value(json.out, "perplexity"), std::exp(loss), 1e-6 * std::exp(loss));
  EXPECT_EQ(json_value(json.out, "tokens"), static_cast<double>(small_corpus().size() - 1));

  const ProcessResult text = run({"eval", "-m", model().string(), "--data", corpus().string()});
  ASSERT_EQ(text.exit_status, 0) << text.err;
  EXPECT_TRUE(std::regex_match(text.out, std::regex("loss [0-9.]+ nats/token \\| [0-9.]+ bits/token \\| perplexity "
                                                    "[0-9.]+ \\| [0-9]+ tokens\n")))
      << text.out;
}

TEST_F(CliEndToEnd, InfoShowsTheModel) {
  const ProcessResult result = run({"info", "-m", model().string()});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const long vocab = vocab_size(), embed = 16, hidden = 32, gates = 4;
  const long parameters = vocab * embed + gates * hidden * (embed + hidden + 2) + hidden * vocab + vocab;
  EXPECT_NE(result.out.find("parameters: " + std::to_string(parameters) + "\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("rnn.weight_hh_l0 [128, 32]"), std::string::npos) << result.out;
}

TEST_F(CliEndToEnd, TruncatedModelFile) {
  const std::string bytes = read_file(model());
  const fs::path truncated = dir_ / "truncated.safetensors";
  write_file(truncated, bytes.substr(0, bytes.size() / 2));
  expect_one_line_error(run({"sample", "-m", truncated.string(), "-p", "the", "-s", "1"}), "");
}

TEST_F(CliEndToEnd, FailedTrainingLeavesTheCheckpointAlone) {
  const fs::path existing = dir_ / "existing.safetensors";
  fs::copy_file(model(), existing, fs::copy_options::overwrite_existing);
  const std::string before = read_file(existing);
  const fs::path tiny = dir_ / "tiny.txt";
  write_file(tiny, "the cat sat.");

  expect_one_line_error(run({"train", "--data", (dir_ / "missing.txt").string(), "--out", existing.string()}),
                        "missing.txt");
  EXPECT_EQ(read_file(existing), before);
  const ProcessResult too_small = run({"train", "--data", tiny.string(), "--out", existing.string(), "--batch", "8",
                                       "--seq-len", "20", "--device", "cpu"});
  EXPECT_EQ(too_small.exit_status, 1) << too_small.err;
  EXPECT_EQ(count_lines(too_small.err), 1) << too_small.err;
  EXPECT_EQ(read_file(existing), before);
}

TEST_F(CliEndToEnd, ResumeContinuesExactly) {
  const fs::path straight = dir_ / "straight.safetensors";
  const fs::path resumed = dir_ / "resumed.safetensors";
  const ProcessResult whole = run(train_args(straight, {"--steps", "40"}));
  ASSERT_EQ(whole.exit_status, 0) << whole.err;
  const ProcessResult first_half = run(train_args(resumed, {"--steps", "20"}));
  ASSERT_EQ(first_half.exit_status, 0) << first_half.err;
  const double halfway = eval_loss(resumed);
  const ProcessResult second_half = run(train_args(resumed, {"--steps", "40", "--resume", "--cell", "gru"}));
  ASSERT_EQ(second_half.exit_status, 0) << second_half.err;
  EXPECT_NE(second_half.err.find("ignoring --cell"), std::string::npos) << second_half.err;
  EXPECT_NE(second_half.err.find("resuming after step 20"), std::string::npos) << second_half.err;
  EXPECT_EQ(second_half.err.find("step 20/40"), std::string::npos) << second_half.err;

  const double expected = eval_loss(straight);
  EXPECT_NE(halfway, expected);
  EXPECT_NEAR(eval_loss(resumed), expected, 1e-6 * expected);
}

TEST_F(CliEndToEnd, InterruptCheckpointsAndExits130) {
  const fs::path interrupted = dir_ / "interrupted.safetensors";
  GenCudaProcess training(dir_, train_args(interrupted, {"--steps", "1000000", "--log-every", "1"}));
  // Interrupt once training has visibly started.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (training.stderr_so_far().find("step 2/") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  training.signal(SIGINT);
  const ProcessResult result = training.wait();
  EXPECT_EQ(result.exit_status, 130) << result.err;
  EXPECT_NE(last_line(result.err).find("interrupted at step"), std::string::npos) << result.err;
  EXPECT_TRUE(std::isfinite(eval_loss(interrupted)));
}

TEST_F(CliEndToEnd, WordLevel) {
  const fs::path words = dir_ / "words.safetensors";
  const ProcessResult trained = run(train_args(words, {"--tokenizer", "word", "--vocab-size", "20", "--steps", "5"}));
  ASSERT_EQ(trained.exit_status, 0) << trained.err;
  EXPECT_NE(trained.err.find("ppl"), std::string::npos) << trained.err;
  const ProcessResult sampled = run({"sample", "-m", words.string(), "-p", "the cat", "-n", "5", "-s", "2"});
  ASSERT_EQ(sampled.exit_status, 0) << sampled.err;
  EXPECT_EQ(sampled.out.rfind("the cat", 0), 0u) << sampled.out;
}

// ---------------------------------------------------------------------------------------------
// Token files: gen_cuda tokenize, then train and eval --data on the file, memory-mapped.

class CliTokenFiles : public CliEndToEnd {
 protected:
  fs::path tokens() const { return dir_ / "corpus.tokens"; }
  ProcessResult tokenize(std::vector<std::string> extra) const {
    std::vector<std::string> args = {"tokenize", "--data", corpus().string(), "--out", tokens().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }
  // train_args with --data the token file.
  std::vector<std::string> token_train_args(const fs::path& out, std::vector<std::string> extra) const {
    std::vector<std::string> args = train_args(out, std::move(extra));
    args[2] = tokens().string();
    return args;
  }
};

TEST_F(CliTokenFiles, TrainsAndEvaluatesExactlyAsItsText) {
  const ProcessResult made = tokenize({});
  ASSERT_EQ(made.exit_status, 0) << made.err;
  EXPECT_EQ(made.out, "");
  const std::string size = std::to_string(fs::file_size(tokens()));
  // A small text: no progress line, only the summary.
  EXPECT_TRUE(std::regex_match(
      made.err, std::regex("tokenized .*corpus.txt \\([0-9.]+ MiB\\): " + std::to_string(small_corpus().size()) +
                           " tokens, char vocabulary of " + std::to_string(vocab_size()) +
                           ", 2-byte ids; wrote .*corpus.tokens \\(" + size + " bytes, [0-9.]+ MiB\\)\n")))
      << made.err;

  const fs::path from_file = dir_ / "from_file.safetensors";
  const ProcessResult trained = run(token_train_args(from_file, {"--steps", "60"}));
  ASSERT_EQ(trained.exit_status, 0) << trained.err;
  EXPECT_NE(trained.err.find("data: token file, " + std::to_string(small_corpus().size()) + " tokens; "),
            std::string::npos)
      << trained.err;
  // The weights the text gave in SetUp, bit for bit (the checkpoint holds the vocabulary too).
  EXPECT_EQ(read_file(from_file), read_file(model()));
  EXPECT_EQ(read_file(from_file.string() + ".optim"), read_file(model().string() + ".optim"));

  const ProcessResult on_file = run({"eval", "-m", model().string(), "--data", tokens().string(), "--json"});
  ASSERT_EQ(on_file.exit_status, 0) << on_file.err;
  const ProcessResult on_text = run({"eval", "-m", model().string(), "--data", corpus().string(), "--json"});
  EXPECT_EQ(on_file.out, on_text.out);
  // --unknown does nothing to ids already made, and says so.
  const ProcessResult unknown =
      run({"eval", "-m", model().string(), "--data", tokens().string(), "--json", "--unknown", "skip"});
  EXPECT_EQ(unknown.out, on_text.out);
  EXPECT_NE(unknown.err.find("note: ignoring --unknown"), std::string::npos) << unknown.err;
}

TEST_F(CliTokenFiles, ResumesOnATokenFileAsOnItsText) {
  ASSERT_EQ(tokenize({}).exit_status, 0);
  const fs::path straight = dir_ / "straight.safetensors";
  const fs::path resumed = dir_ / "resumed.safetensors";
  ASSERT_EQ(run(train_args(straight, {"--steps", "40"})).exit_status, 0);
  ASSERT_EQ(run(train_args(resumed, {"--steps", "20"})).exit_status, 0);  // the text, then the token file
  const ProcessResult second_half = run(token_train_args(resumed, {"--steps", "40", "--resume"}));
  ASSERT_EQ(second_half.exit_status, 0) << second_half.err;
  EXPECT_NE(second_half.err.find("resuming after step 20"), std::string::npos) << second_half.err;
  EXPECT_EQ(read_file(resumed), read_file(straight));
}

TEST_F(CliTokenFiles, AWordTokenFileBringsItsVocabulary) {
  ASSERT_EQ(tokenize({"--tokenizer", "word", "--vocab-size", "20"}).exit_status, 0);
  const fs::path words = dir_ / "words.safetensors";
  const fs::path from_text = dir_ / "from_text.safetensors";
  const ProcessResult trained = run(token_train_args(words, {"--steps", "5", "--vocab-size", "50"}));
  ASSERT_EQ(trained.exit_status, 0) << trained.err;
  EXPECT_NE(trained.err.find("note: ignoring --vocab-size: token file " + tokens().string() +
                             " has its own vocabulary (20 tokens)"),
            std::string::npos)
      << trained.err;
  ASSERT_EQ(run(train_args(from_text, {"--steps", "5", "--tokenizer", "word", "--vocab-size", "20"})).exit_status, 0);
  EXPECT_EQ(read_file(words), read_file(from_text));
  expect_one_line_error(run(token_train_args(dir_ / "c.safetensors", {"--steps", "5", "--tokenizer", "char"})),
                        "--tokenizer char does not match token file '" + tokens().string() + "'");
  // Words through the char model's vocabulary: refused, naming the file and the checkpoint.
  expect_one_line_error(run(token_train_args(model(), {"--steps", "70", "--resume"})),
                        "token file '" + tokens().string() + "' has a word vocabulary of 20 tokens, not that of " +
                            "checkpoint '" + model().string() + "'");
  expect_one_line_error(run({"eval", "-m", model().string(), "--data", tokens().string()}),
                        "token file '" + tokens().string() + "' has a word vocabulary of 20 tokens, not the model's");
}

TEST_F(CliTokenFiles, AnotherTextWithTheModelsVocabulary) {
  const fs::path other = dir_ / "other.txt";
  write_file(other, "the dog sat in the sun. the cat ran.");
  const fs::path other_tokens = dir_ / "other.tokens";
  const ProcessResult made =
      run({"tokenize", "--data", other.string(), "--out", other_tokens.string(), "--model", model().string()});
  ASSERT_EQ(made.exit_status, 0) << made.err;
  EXPECT_NE(made.err.find("model " + model().string() + "'s char vocabulary of"), std::string::npos) << made.err;
  const ProcessResult on_file = run({"eval", "-m", model().string(), "--data", other_tokens.string(), "--json"});
  ASSERT_EQ(on_file.exit_status, 0) << on_file.err;
  EXPECT_EQ(on_file.out, run({"eval", "-m", model().string(), "--data", other.string(), "--json"}).out);

  write_file(other, "the dog sat in the sun @ noon.");
  expect_one_line_error(
      run({"tokenize", "--data", other.string(), "--out", other_tokens.string(), "--model", model().string()}),
      "data file '" + other.string() + "': token \"@\" (U+0040) at byte 23 is not in the vocabulary");
  EXPECT_EQ(run({"tokenize", "--data", other.string(), "--out", other_tokens.string(), "--model", model().string(),
                 "--unknown", "skip"})
                .exit_status,
            0);
  expect_one_line_error(run({"tokenize", "--data", other.string(), "--out", other_tokens.string(), "--model",
                             model().string(), "--tokenizer", "word"}),
                        "--tokenizer cannot be given with --model");
  expect_one_line_error(run({"tokenize", "--data", other.string(), "--out", other_tokens.string(), "--unknown", "unk"}),
                        "--unknown needs --model");
}

TEST_F(CliTokenFiles, BadTextsAndTokenFilesGetOneLineNamingThem) {
  const fs::path latin1 = dir_ / "latin1.txt";
  write_file(latin1, small_corpus() + "caf\xe9 au lait");
  ASSERT_EQ(tokenize({}).exit_status, 0);
  const std::string good = read_file(tokens());
  // The token file stays as it was when a later run fails.
  expect_one_line_error(run({"tokenize", "--data", latin1.string(), "--out", tokens().string()}),
                        "data file '" + latin1.string() + "': invalid UTF-8 at byte " +
                            std::to_string(small_corpus().size() + 3) + ": truncated sequence");
  EXPECT_EQ(read_file(tokens()), good);
  expect_one_line_error(run({"tokenize", "--data", latin1.string(), "--out", (dir_ / "no/such/x.tokens").string()}),
                        "no/such");
  expect_one_line_error(run({"tokenize", "--data", corpus().string()}), "--out");

  const fs::path truncated = dir_ / "truncated.tokens";
  write_file(truncated, good.substr(0, good.size() - 3));
  const fs::path wrong_version = dir_ / "version.tokens";
  write_file(wrong_version, good.substr(0, 8) + std::string("\x09", 1) + good.substr(9));
  std::string past = good;
  past[past.size() - 2] = '\x7f';  // the last id, far past the vocabulary
  const fs::path past_vocabulary = dir_ / "past.tokens";
  write_file(past_vocabulary, past);
  for (const auto& [file, says] :
       {std::pair{truncated, "is truncated"}, std::pair{wrong_version, "has format version 9;"},
        std::pair{past_vocabulary, "has id 127 at token "}}) {
    SCOPED_TRACE(file.string());
    const std::string named = "token file '" + file.string() + "' ";
    expect_one_line_error(run({"train", "--data", file.string(), "--out", (dir_ / "x.safetensors").string(), "--device",
                               "cpu", "--steps", "1"}),
                          named);
    expect_one_line_error(run({"eval", "-m", model().string(), "--data", file.string()}), named + says);
  }
  EXPECT_FALSE(fs::exists(dir_ / "x.safetensors"));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// gen_cuda bench: records in the format tools/bench_report.py joins with PyTorch's.

class CliBench : public testing::Test {
 protected:
  ProcessResult run(const std::vector<std::string>& args) { return run_gen_cuda(folder_.path(), args); }
  genrnn::testing::ScratchFolder folder_;
};

TEST_F(CliBench, JsonHasOneRecordPerCombinationWithTheAgreedKeys) {
  const ProcessResult result =
      run({"bench", "--device", "cpu", "--hidden", "8,16", "--vocab", "20", "--batch", "2", "--seq-len", "5", "-n", "4",
           "-r", "2", "--test", "train,decode,sample", "-o", "json"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  // train and decode for each of two hidden sizes; sample does not depend on the model.
  EXPECT_EQ(split(result.out, "\"impl\": \"genrnn\"").size() - 1, 5u) << result.out;
  for (const char* key : {"test",
                          "device",
                          "gpu",
                          "engine",
                          "decoder",
                          "decoder_note",
                          "cell",
                          "layers",
                          "hidden",
                          "embed",
                          "vocab",
                          "batch",
                          "seq_len",
                          "n_tokens",
                          "avg_tokens_per_s",
                          "stddev_tokens_per_s",
                          "processes",
                          "token_latency_us_p50",
                          "token_latency_us_p99",
                          "commit"})
    EXPECT_NE(result.out.find(std::string("\"") + key + "\":"), std::string::npos) << key;
  EXPECT_GT(json_value(result.out, "avg_tokens_per_s"), 0);
  EXPECT_NE(result.out.find("\"decoder\": \"cpu\""), std::string::npos) << result.out;
  EXPECT_GT(json_value(result.out, "token_latency_us_p50"), 0);  // the first record with one: decode
  const ProcessResult beam = run({"bench", "--device", "cpu", "--hidden", "8", "--vocab", "20", "--batch", "2", "-n",
                                  "4", "-r", "1", "--test", "beam", "--beam-width", "1,3", "-o", "json"});
  ASSERT_EQ(beam.exit_status, 0) << beam.err;
  EXPECT_NE(beam.out.find("\"decoder\": \"beam 1 on the host\""), std::string::npos) << beam.out;
  EXPECT_NE(beam.out.find("\"decoder\": \"beam 3 on the host\""), std::string::npos) << beam.out;
  expect_one_line_error(run({"bench", "--test", "beam", "--beam-width", "0"}), "--beam-width");
}

TEST_F(CliBench, ThreadsAreAListAndEachRecordSaysItsCount) {
  const ProcessResult result =
      run({"bench", "--device", "cpu", "--hidden", "8", "--vocab", "20", "--batch", "2", "--seq-len", "5", "-r", "1",
           "--test", "prefill", "--threads", "1,2", "-o", "json"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  EXPECT_NE(result.out.find("\"threads\": 1,"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\"threads\": 2,"), std::string::npos) << result.out;
  expect_one_line_error(run({"bench", "--threads", "2000"}), "--threads");
}

TEST_F(CliBench, StandardSuiteAndBadValues) {
  const ProcessResult table =
      run({"bench", "--device", "cpu", "--standard", std::string(GENRNN_SOURCE_DIR) + "/bench/standard.json", "-r", "1",
           "--warmup", "0"});
  ASSERT_EQ(table.exit_status, 0) << table.err;
  EXPECT_NE(table.out.find("| train | seed |"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("| decode | char256 |"), std::string::npos) << table.out;
  expect_one_line_error(run({"bench", "--test", "inference"}), "inference");
  expect_one_line_error(run({"bench", "-r", "0"}), "--repetitions");
  expect_one_line_error(run({"bench", "-o", "xml"}), "--output");
  expect_one_line_error(run({"bench", "--decoder", "fast"}), "--decoder");
  // Checked before the first measurement: no progress line comes first.
  expect_one_line_error(run({"bench", "--device", "cpu", "--test", "train,decode", "--decoder", "graph"}),
                        "--decoder graph");
}
