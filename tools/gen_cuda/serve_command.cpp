// gen_cuda serve: an OpenAI-compatible completions server with continuous batching, and a page
// to try a model with. SIGINT or SIGTERM ends it: no new requests, the streams in flight finish
// or are ended within --grace seconds, exit status 0.
#include <genrnn/genrnn.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>

#include "commands.hpp"
#include "completion_server.hpp"

namespace gen_cuda {
namespace {

struct ServeArguments {
  std::string model_path;
  ServeOptions server;
  genrnn::SchedulerOptions scheduler;
  DecodingEngineArguments engine;
  double grace_seconds = 5;
};

// Waits until the scheduler has no stream left, or `deadline`.
void wait_for_streams(const genrnn::StreamScheduler& scheduler, std::chrono::steady_clock::time_point deadline) {
  while (std::chrono::steady_clock::now() < deadline) {
    const genrnn::StreamScheduler::Load load = scheduler.load();
    if (load.active == 0 && load.queued == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// SIGINT and SIGTERM, from whichever thread the kernel hands them to (OpenBLAS's, started before
// main, do not block them), reach the watcher through a pipe.
int stop_signal_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int signal) {
  const unsigned char number = static_cast<unsigned char>(signal);
  [[maybe_unused]] const ssize_t written = ::write(stop_signal_pipe[1], &number, 1);
}

// While the model loads, the first signal ends the process; once it serves, the first is handed
// to `first` (a graceful stop) and a second ends the process at once.
void watch_stop_signals(std::shared_ptr<std::promise<int>> first, std::shared_ptr<std::atomic<bool>> serving) {
  if (::pipe(stop_signal_pipe) != 0) throw genrnn::Error(std::string("cannot make a pipe: ") + std::strerror(errno));
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::thread([first, serving] {
    auto next_signal = [] {
      unsigned char number = 0;
      while (::read(stop_signal_pipe[0], &number, 1) != 1) {
      }
      return static_cast<int>(number);
    };
    int signal = next_signal();
    if (!serving->load()) {
      std::cerr << "gen_cuda serve: " << strsignal(signal) << " while loading the model" << std::endl;
      std::_Exit(interrupted_exit_status);
    }
    first->set_value(signal);
    signal = next_signal();
    std::cerr << "gen_cuda serve: " << strsignal(signal) << " again: stopping at once" << std::endl;
    std::_Exit(interrupted_exit_status);
  }).detach();
}

int run_serve(ServeArguments& args) {
  if (args.server.model_name.empty()) args.server.model_name = std::filesystem::path(args.model_path).stem().string();
  std::signal(SIGPIPE, SIG_IGN);  // a write to a client that left fails instead of killing the process
  auto first_signal = std::make_shared<std::promise<int>>();
  auto serving = std::make_shared<std::atomic<bool>>(false);
  watch_stop_signals(first_signal, serving);

  CompletionServer server(args.server);
  const int port = server.listen();
  std::cerr << "gen_cuda serve: listening on http://" << args.server.host << ':' << port << "/ (loading "
            << args.model_path << ')' << std::endl;
  const genrnn::EngineOptions engine = args.engine.options();
  genrnn::StreamScheduler scheduler(genrnn::Model::load(args.model_path), engine, args.scheduler);
  server.serve(scheduler);
  serving->store(true);
  std::cerr << "gen_cuda serve: ready: model " << args.server.model_name << ", engine " << scheduler.engine_name()
            << ", " << scheduler.slots() << " slots" << (args.server.api_key.empty() ? "" : ", API key required")
            << std::endl;

  const int signal = first_signal->get_future().get();
  const auto grace = std::chrono::milliseconds(static_cast<int64_t>(args.grace_seconds * 1000));
  std::cerr << "gen_cuda serve: " << strsignal(signal) << ": finishing the streams in flight (at most "
            << args.grace_seconds << " s; again to stop at once)" << std::endl;
  scheduler.shutdown(grace);
  wait_for_streams(scheduler, std::chrono::steady_clock::now() + grace + std::chrono::seconds(1));
  // Idle keep-alive connections end within cpp-httplib's keep-alive timeout.
  if (!server.stop(std::chrono::seconds(10))) {
    std::cerr << "gen_cuda serve: stopped with connections still open" << std::endl;
    std::_Exit(0);  // their threads still use the server: it must not be destroyed under them
  }
  std::cerr << "gen_cuda serve: stopped" << std::endl;
  return 0;
}

}  // namespace

Command add_serve_command(CLI::App& parent) {
  CLI::App* command = parent.add_subcommand(
      "serve", "Serve a model over HTTP: OpenAI's /v1/completions with continuous batching, and a page at /");
  auto args = std::make_shared<ServeArguments>();
  ServeOptions& server = args->server;
  command->add_option("-m,--model", args->model_path, "Model checkpoint (safetensors)")->required();
  command->add_option("--host", server.host, "Address to listen on (127.0.0.1: this machine only)")
      ->capture_default_str();
  command->add_option("--port", server.port, "Port to listen on; 0: any free one (printed)")
      ->check(number_in(0, Bound::included, 65535, Bound::included))
      ->capture_default_str();
  command->add_option("--parallel", args->scheduler.slots, "Streams decoded together as one batch")
      ->check(number_in(1, Bound::included, genrnn::limits::max_streams, Bound::included))
      ->capture_default_str();
  command->add_option("--queue", args->scheduler.max_queued, "Streams that may wait for a free slot; more: 429")
      ->check(number_in(0, Bound::included, 1'000'000, Bound::included))
      ->capture_default_str();
  command
      ->add_option("--api-key", server.api_key,
                   "Require 'Authorization: Bearer KEY' on every route but / and /health (also GENRNN_API_KEY)")
      ->envname("GENRNN_API_KEY");
  command->add_option("--name", server.model_name, "The model's name in responses (default: the file's stem)");
  command->add_option("--max-tokens", server.limits.max_tokens, "The most tokens a choice may ask for")
      ->check(number_in(1, Bound::included, 1'000'000, Bound::included))
      ->capture_default_str();
  command->add_option("--max-n", server.limits.max_n, "The most choices per prompt (n)")
      ->check(number_in(1, Bound::included, genrnn::limits::max_streams, Bound::included))
      ->capture_default_str();
  command->add_option("--max-body", server.max_body_bytes, "The largest request body, in bytes; larger: 413")
      ->check(number_in(1024, Bound::included, 1 << 30, Bound::included))
      ->capture_default_str();
  command
      ->add_option("--max-connections", server.max_connections, "Connections open at once; more are answered 503")
      // cpp-httplib 0.11 waits on sockets with select(), which takes descriptors below 1024.
      ->check(number_in(1, Bound::included, 1000, Bound::included))
      ->capture_default_str();
  command
      ->add_option("--timeout", server.timeout_seconds,
                   "Seconds a client may take to send a request, or to read what is written to it")
      ->check(number_in(1, Bound::included, 86400, Bound::included))
      ->capture_default_str();
  command
      ->add_option_function<int>(
          "--stream-interval", [&server](int ms) { server.stream_interval = std::chrono::milliseconds(ms); },
          "Streaming: milliseconds at least between a stream's events, which carry the tokens drawn meanwhile "
          "(default 20; 0: an event per token while the client keeps up)")
      ->check(number_in(0, Bound::included, 10000, Bound::included));
  command->add_option("--grace", args->grace_seconds, "On SIGINT or SIGTERM, seconds the streams in flight may run on")
      ->check(number_in(0, Bound::included, 3600, Bound::included))
      ->capture_default_str();
  add_decoding_engine_options(*command, args->engine);
  return {command, [args] { return run_serve(*args); }};
}

}  // namespace gen_cuda
