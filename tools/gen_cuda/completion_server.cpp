#include "completion_server.hpp"

#include <genrnn/error.hpp>
#include <httplib.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <iostream>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <random>
#include <set>
#include <sys/socket.h>
#include <thread>

#include "commands.hpp"
#include "completion_job.hpp"

namespace gen_cuda {

const char* serve_page_html();  // serve_page.html, built in (CMake writes it into a source file)

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Set on the threads that answer connections past --max-connections: they only refuse.
thread_local bool over_connection_limit = false;

// cpp-httplib's thread pool, but at most `limit` connections at once get a thread of it; the
// others go to two threads that answer 503 (cpp-httplib's own queue would hold them unanswered).
class LimitedConnections : public httplib::TaskQueue {
 public:
  explicit LimitedConnections(int limit) : limit_(limit), pool_(static_cast<std::size_t>(limit)), refusing_(2) {}
  void enqueue(std::function<void()> connection) override {
    if (open_.fetch_add(1) < limit_) {
      pool_.enqueue([this, connection] {
        connection();
        --open_;
      });
    } else {
      refusing_.enqueue([this, connection] {
        over_connection_limit = true;
        connection();
        over_connection_limit = false;
        --open_;
      });
    }
  }
  void shutdown() override {
    pool_.shutdown();
    refusing_.shutdown();
  }

 private:
  const int limit_;
  std::atomic<int> open_{0};
  httplib::ThreadPool pool_, refusing_;
};

std::string random_id() {
  static std::mutex mutex;
  static std::mt19937_64 engine{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mutex);
  char text[32];
  std::snprintf(text, sizeof text, "cmpl-%016llx", static_cast<unsigned long long>(engine()));
  return text;
}

void send_json(httplib::Response& response, int status, const json& body) {
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& response, const ApiError& error) {
  send_json(response, error.status, error_json(error.what(), error.type, error.param));
}

// Compares in time that depends on the lengths alone, not on where the texts differ.
bool same_secret(const std::string& given, const std::string& expected) {
  unsigned char difference = given.size() != expected.size();
  for (std::size_t k = 0; k < given.size(); ++k)
    difference |= static_cast<unsigned char>(given[k] ^ expected[k % std::max<std::size_t>(1, expected.size())]);
  return difference == 0;
}

// The text of one server-sent event carrying `data`.
std::string event(const json& data) {
  return "data: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

}  // namespace

// A completion request, from its body to its answer.
struct CompletionServer::Routes {
  CompletionServer& server;

  struct Reply {
    std::string id = random_id();
    std::time_t created = std::time(nullptr);
    CompletionRequest request;
    std::shared_ptr<CompletionJob> job;
    int prompt_tokens = 0;

    // The choice's prompt (index / n), which echo puts before its text.
    const std::string& prompt_of(int choice) const { return request.prompts[choice / request.n]; }
    json head(const std::string& model) const {
      return {{"id", id},
              {"object", "text_completion"},
              {"created", created},
              {"model", model},
              {"seed", request.sampling.seed}};
    }
    json usage() const {
      const int completion = job->completion_tokens();
      return {{"prompt_tokens", prompt_tokens},
              {"completion_tokens", completion},
              {"total_tokens", prompt_tokens + completion}};
    }
  };

  void completion(const httplib::Request& http_request, httplib::Response& response) {
    genrnn::StreamScheduler* scheduler = server.scheduler_.load();
    if (!scheduler) throw ApiError(503, "unavailable_error", "the model is loading; try again shortly");
    if (scheduler->broken()) throw ApiError(500, "server_error", "the engine failed: " + scheduler->failure());
    auto reply = std::make_shared<Reply>();
    CompletionLimits limits = server.options_.limits;
    limits.max_streams = scheduler->slots() + scheduler->max_queued();
    reply->request = parse_completion_request(http_request.body, scheduler->model().tokenizer, limits);
    CompletionRequest& request = reply->request;
    if (!request.seed_given) request.sampling.seed = random_seed();
    std::vector<genrnn::ScheduledStream> streams;
    for (const std::vector<int>& prompt : request.prompt_ids) {
      reply->prompt_tokens += static_cast<int>(prompt.size());
      for (int k = 0; k < request.n; ++k)
        streams.push_back(
            {prompt, request.sampling, static_cast<uint64_t>(k), request.max_tokens, request.stops, request.logprobs});
    }
    reply->job = std::make_shared<CompletionJob>(static_cast<int>(streams.size()), server.metrics_);
    try {
      reply->job->set_ticket(scheduler->submit(std::move(streams), reply->job->observer()));
    } catch (const genrnn::SchedulerBusy& busy) {
      throw busy.shutting_down ? ApiError(503, "unavailable_error", busy.what())
                               : ApiError(429, "rate_limit_error", busy.what());
    } catch (const genrnn::Error& error) {
      throw invalid_request(error.what());
    }
    response.set_header("X-Genrnn-Seed", std::to_string(request.sampling.seed));
    if (request.stream)
      stream(reply, *scheduler, response);
    else
      wait_and_answer(*reply, *scheduler, response);
  }

  // One choice's part of a response or chunk; `offset`: where its tokens' text starts.
  json choice(const Reply& reply, ChoiceNews& news, bool first, std::size_t& offset) const {
    std::string text = std::move(news.text);
    if (reply.request.echo && first) {
      text = reply.prompt_of(news.index) + text;
      offset += reply.prompt_of(news.index).size();
    }
    return {{"index", news.index},
            {"text", std::move(text)},
            {"logprobs", reply.request.logprobs < 0 ? json(nullptr) : logprobs_json(news.tokens, offset)},
            {"finish_reason", finish_reason_json(news.end)}};
  }

  // What ended a choice without a finish_reason, as an error; empty for none.
  static std::optional<ApiError> ended_badly(genrnn::StreamEnd end, const genrnn::StreamScheduler& scheduler) {
    if (end == genrnn::StreamEnd::failed)
      return ApiError(500, "server_error", "the engine failed: " + scheduler.failure());
    if (end == genrnn::StreamEnd::cancelled) return ApiError(503, "unavailable_error", "the server is shutting down");
    return std::nullopt;
  }

  void wait_and_answer(Reply& reply, const genrnn::StreamScheduler& scheduler, httplib::Response& response) const {
    const int choices = reply.request.choices();
    std::vector<ChoiceNews> whole(choices);
    for (int k = 0; k < choices; ++k) whole[k].index = k;
    while (!reply.job->finished()) {
      // Woken when every choice has ended, or once a second: not for each step's token.
      const Clock::time_point second = Clock::now() + std::chrono::seconds(1);
      for (ChoiceNews& news : reply.job->take(second, second)) {
        ChoiceNews& into = whole[news.index];
        into.text += news.text;
        into.tokens.insert(into.tokens.end(), std::make_move_iterator(news.tokens.begin()),
                           std::make_move_iterator(news.tokens.end()));
        if (news.end != genrnn::StreamEnd::running) into.end = news.end;
      }
    }
    json body = reply.head(server.options_.model_name);
    body["choices"] = json::array();
    for (ChoiceNews& news : whole) {
      if (const auto error = ended_badly(news.end, scheduler)) throw *error;
      std::size_t offset = 0;
      body["choices"].push_back(choice(reply, news, true, offset));
    }
    body["usage"] = reply.usage();
    send_json(response, 200, body);
  }

  // Server-sent events: a chunk per choice with news, as it comes; an error event for a choice
  // the server ended; `data: [DONE]`. A client that leaves cancels the request's streams.
  void stream(const std::shared_ptr<Reply>& reply, const genrnn::StreamScheduler& scheduler,
              httplib::Response& response) const {
    const int choices = reply->request.choices();
    auto offsets = std::make_shared<std::vector<std::size_t>>(choices, 0);
    auto started = std::make_shared<std::vector<bool>>(choices, false);
    auto last_events = std::make_shared<Clock::time_point>();
    const std::string model = server.options_.model_name;
    response.set_header("Cache-Control", "no-cache");
    ++server.open_streams_;
    response.set_chunked_content_provider(
        "text/event-stream",
        [routes = *this, reply, offsets, started, last_events, model, &scheduler](std::size_t,
                                                                                  httplib::DataSink& sink) {
          auto write = [&](const std::string& text) {
            if (sink.write(text.data(), text.size())) return true;
            reply->job->cancel();
            return false;
          };
          if (!sink.is_writable()) {
            reply->job->cancel();
            return false;
          }
          std::vector<ChoiceNews> taken = reply->job->take(*last_events + routes.server.options_.stream_interval,
                                                           Clock::now() + std::chrono::milliseconds(200));
          if (!taken.empty()) *last_events = Clock::now();
          const bool finished = reply->job->finished();
          for (std::size_t k = 0; k < taken.size(); ++k) {
            ChoiceNews& news = taken[k];
            const auto error = ended_badly(news.end, scheduler);
            if (!news.tokens.empty() || !error) {
              json chunk = reply->head(model);
              const bool first = !(*started)[news.index];
              (*started)[news.index] = true;
              chunk["choices"] = json::array({routes.choice(*reply, news, first, (*offsets)[news.index])});
              if (finished && k + 1 == taken.size() && !error) chunk["usage"] = reply->usage();
              if (!write(event(chunk))) return false;
            }
            if (error && !write(event(error_json(error->what(), error->type)))) return false;
          }
          if (finished) {
            if (!write("data: [DONE]\n\n")) return false;
            sink.done();
          }
          return true;
        },
        [reply, &open_streams = server.open_streams_](bool success) {
          if (!success) reply->job->cancel();
          --open_streams;
        });
  }
};

CompletionServer::CompletionServer(ServeOptions options)
    : options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {}

CompletionServer::~CompletionServer() { stop(std::chrono::hours(1)); }

int CompletionServer::listen() {
  httplib::Server& http = *http_;
  const int connections = options_.max_connections;
  http.new_task_queue = [connections] { return new LimitedConnections(connections); };
  int listening_socket = -1;
  http.set_socket_options([&listening_socket](int socket) {
    const int yes = 1;  // cpp-httplib's default adds SO_REUSEPORT, which lets a second server share the port
    ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    // Every event goes out at once: Nagle's algorithm would hold a stream's first event back
    // until the client acknowledged the headers (its delayed ACK: 40 ms). Accepted sockets inherit it.
    ::setsockopt(socket, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    listening_socket = socket;
  });
  http.set_read_timeout(options_.timeout_seconds);
  http.set_write_timeout(options_.timeout_seconds);
  http.set_keep_alive_timeout(5);
  http.set_payload_max_length(options_.max_body_bytes);

  http.set_pre_routing_handler([this](const httplib::Request& request, httplib::Response& response) {
    if (over_connection_limit) {
      response.set_header("Connection", "close");
      send_error(response, ApiError(503, "unavailable_error",
                                    "too many connections (--max-connections " +
                                        std::to_string(options_.max_connections) + "); try again later"));
      return httplib::Server::HandlerResponse::Handled;
    }
    // cpp-httplib bounds a body by --max-body only when its length is given: a chunked body, or
    // one read until the client closes, could be of any size. Refused unread, so the connection
    // must close: what is left of the body would be read as the next request.
    const bool has_body =
        request.method == "POST" || request.method == "PUT" || request.method == "PATCH" || request.method == "DELETE";
    if (request.has_header("Transfer-Encoding") || (has_body && !request.has_header("Content-Length"))) {
      response.set_header("Connection", "close");
      send_error(response, ApiError(411, "invalid_request_error", "send the body with a Content-Length"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // The API key is checked once a route's body has been read, so that a refusal leaves the
  // connection ready for the next request.
  auto with_key = [this](httplib::Server::Handler handler) {
    return [this, handler](const httplib::Request& request, httplib::Response& response) {
      if (!options_.api_key.empty() &&
          !same_secret(request.get_header_value("Authorization"), "Bearer " + options_.api_key))
        throw ApiError(401, "authentication_error",
                       "a valid API key is required: send the header Authorization: Bearer KEY");
      handler(request, response);
    };
  };

  http.Get("/", [](const httplib::Request&, httplib::Response& response) {
    response.set_content(serve_page_html(), "text/html; charset=utf-8");
  });
  http.Get("/health", [this](const httplib::Request&, httplib::Response& response) {
    const genrnn::StreamScheduler* scheduler = scheduler_.load();
    if (!scheduler)
      send_json(response, 503, error_json("Loading model", "unavailable_error"));
    else if (scheduler->broken())
      send_json(response, 500, error_json("the engine failed: " + scheduler->failure(), "server_error"));
    else if (!scheduler->accepting())
      send_json(response, 503, error_json("Shutting down", "unavailable_error"));
    else
      send_json(response, 200, {{"status", "ok"}});
  });
  http.Get("/v1/models", with_key([this](const httplib::Request&, httplib::Response& response) {
             genrnn::StreamScheduler* scheduler = scheduler_.load();
             if (!scheduler) throw ApiError(503, "unavailable_error", "the model is loading; try again shortly");
             const genrnn::ModelConfig& config = scheduler->model().config;
             send_json(response, 200,
                       {{"object", "list"},
                        {"data", json::array({{{"id", options_.model_name},
                                               {"object", "model"},
                                               {"owned_by", "genrnn"},
                                               {"meta",
                                                {{"cell", genrnn::to_string(config.cell)},
                                                 {"layers", config.num_layers},
                                                 {"hidden", config.hidden_size},
                                                 {"embed", config.embedding_dim},
                                                 {"vocab", config.vocab_size},
                                                 {"tokenizer", genrnn::to_string(config.tokenizer)},
                                                 {"engine", scheduler->engine_name()},
                                                 {"slots", scheduler->slots()}}}}})}});
           }));
  http.Post("/v1/completions", with_key([this](const httplib::Request& request, httplib::Response& response) {
              Routes{*this}.completion(request, response);
            }));
  http.Get("/metrics", with_key([this](const httplib::Request&, httplib::Response& response) {
             genrnn::StreamScheduler* scheduler = scheduler_.load();
             const genrnn::StreamScheduler::Load load = scheduler ? scheduler->load() : genrnn::StreamScheduler::Load{};
             response.set_content(metrics_.prometheus(load.active, load.queued, scheduler ? scheduler->slots() : 0),
                                  "text/plain; version=0.0.4");
           }));

  http.set_exception_handler([](const httplib::Request&, httplib::Response& response, std::exception_ptr thrown) {
    try {
      std::rethrow_exception(thrown);
    } catch (const ApiError& error) {
      send_error(response, error);
    } catch (const std::exception& error) {
      send_error(response, ApiError(500, "server_error", error.what()));
    }
  });
  // cpp-httplib's own refusals (404, 413, 400 for a malformed request...) in OpenAI's shape.
  http.set_error_handler([](const httplib::Request& request, httplib::Response& response) {
    if (!response.body.empty()) return;
    if (response.status == 404)
      send_error(response, ApiError(404, "not_found_error", "no route " + request.method + " " + request.path));
    else if (response.status == 413)
      send_error(response, ApiError(413, "invalid_request_error", "the body is too large"));
    else
      send_error(response, ApiError(response.status, "invalid_request_error",
                                    "the request is not valid HTTP (status " + std::to_string(response.status) + ")"));
  });
  http.set_logger([this](const httplib::Request& request, const httplib::Response& response) {
    static const std::set<std::string> routes{"/", "/health", "/v1/models", "/v1/completions", "/metrics"};
    metrics_.request_answered(routes.count(request.path) ? request.path : "other", response.status);
  });

  const int port = options_.port == 0 ? http.bind_to_any_port(options_.host)
                                      : (http.bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port < 0)
    throw genrnn::Error("cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " +
                        std::strerror(errno));
  // cpp-httplib 0.11 listens with a backlog of 5: a burst of clients would wait for SYN retries.
  // Listening again on Linux only sets the backlog.
  ::listen(listening_socket, SOMAXCONN);
  std::promise<void> listened;
  listened_ = listened.get_future();
  listening_ = std::thread([&http, listened = std::move(listened)]() mutable {
    try {
      http.listen_after_bind();              // returns once every connection's thread has ended
    } catch (const std::exception& error) {  // its threads could not be made
      std::cerr << "gen_cuda serve: the server stopped: " << error.what() << std::endl;
    }
    listened.set_value();
  });
  // Until the thread runs the server, stop() would not stop it.
  while (!http.is_running() && listened_.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready) {
  }
  return port;
}

void CompletionServer::serve(genrnn::StreamScheduler& scheduler) { scheduler_.store(&scheduler); }

bool CompletionServer::stop(std::chrono::milliseconds wait) {
  if (!listening_.joinable()) return true;
  const Clock::time_point deadline = Clock::now() + wait;
  // A streamed response still writing when the server stops would end without its last events.
  while (open_streams_ > 0 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  http_->stop();
  if (listened_.wait_until(deadline) != std::future_status::ready) return false;
  listening_.join();
  return true;
}

}  // namespace gen_cuda
