#include "bench_output.hpp"

#include <array>
#include <cstdio>
#include <iomanip>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

namespace gen_cuda {
namespace {

using nlohmann::ordered_json;

// The commit of the checkout the benchmark runs in, or null outside one.
ordered_json current_commit() {
  std::unique_ptr<FILE, int (*)(FILE*)> git(popen("git rev-parse --short HEAD 2>/dev/null", "r"), pclose);
  std::array<char, 64> line{};
  if (!git || !fgets(line.data(), line.size(), git.get())) return nullptr;
  std::string commit = line.data();
  while (!commit.empty() && (commit.back() == '\n' || commit.back() == '\r')) commit.pop_back();
  return commit.empty() ? ordered_json(nullptr) : ordered_json(commit);
}

ordered_json record(const genrnn::BenchResult& r, const ordered_json& commit) {
  const genrnn::BenchCase& b = r.bench;
  const bool has_model = b.test != genrnn::BenchTest::sample;
  const bool has_window = b.test == genrnn::BenchTest::train || b.test == genrnn::BenchTest::prefill;
  auto model_field = [has_model](auto value) { return has_model ? ordered_json(value) : ordered_json(nullptr); };
  ordered_json j;
  j["impl"] = "genrnn";
  j["test"] = genrnn::to_string(b.test);
  j["device"] = r.device;
  j["gpu"] = r.gpu.empty() ? ordered_json(nullptr) : ordered_json(r.gpu);
  j["engine"] = r.engine;
  j["threads"] = r.threads > 0 ? ordered_json(r.threads) : ordered_json(nullptr);
  j["processes"] = r.processes;  // train under mpirun: the data-parallel run's processes
  const bool scaled = r.one_process_tokens_per_second > 0;
  j["one_process_tokens_per_s"] = scaled ? ordered_json(r.one_process_tokens_per_second) : ordered_json(nullptr);
  j["scaling"] =
      scaled ? ordered_json(r.mean_tokens_per_second / r.one_process_tokens_per_second) : ordered_json(nullptr);
  const bool decodes = b.test == genrnn::BenchTest::decode;
  auto decode_field = [decodes](auto value) { return decodes ? ordered_json(value) : ordered_json(nullptr); };
  const bool beam = b.test == genrnn::BenchTest::beam;
  // A beam search: "beam K on the device" (or host) in the decoder's place.
  j["decoder"] =
      beam ? ordered_json("beam " + std::to_string(b.beam_width) + " on the " + r.decoder) : decode_field(r.decoder);
  j["decoder_note"] = decodes && !r.decoder_note.empty() ? ordered_json(r.decoder_note) : ordered_json(nullptr);
  j["cell"] = model_field(genrnn::to_string(b.model.cell));
  j["layers"] = model_field(b.model.num_layers);
  j["hidden"] = model_field(b.model.hidden_size);
  j["embed"] = model_field(b.model.embedding_dim);
  j["vocab"] = b.model.vocab_size;
  j["batch"] = b.batch;
  j["seq_len"] = has_window ? ordered_json(b.seq_len) : ordered_json(nullptr);
  j["n_tokens"] = r.tokens;
  j["avg_tokens_per_s"] = r.mean_tokens_per_second;
  j["stddev_tokens_per_s"] = r.stddev_tokens_per_second;
  j["token_latency_us_p50"] = decode_field(r.token_latency_us_p50);
  j["token_latency_us_p99"] = decode_field(r.token_latency_us_p99);
  j["commit"] = commit;
  j["config"] = b.config_name.empty() ? ordered_json(nullptr) : ordered_json(b.config_name);
  return j;
}

std::string plain(const ordered_json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) {
    std::ostringstream text;
    text << std::fixed << std::setprecision(1) << value.get<double>();
    return text.str();
  }
  return value.dump();
}

// "1.83x"
std::string scale(double ratio) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(2) << ratio << 'x';
  return text.str();
}

// RFC 4180: a field with a comma, a quote or a line break goes in quotes, its quotes doubled.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + '"';
}

std::string shape(const ordered_json& r) {
  if (r["cell"].is_null()) return "V " + plain(r["vocab"]);
  return plain(r["cell"]) + " " + plain(r["layers"]) + "x" + plain(r["hidden"]) + ", " +
         (r["embed"] == 0 ? std::string("one-hot") : "E " + plain(r["embed"])) + ", V " + plain(r["vocab"]);
}

// The record as an element of the array dump(2) prints: each line two spaces further in (a
// dumped string holds no line break: JSON escapes it).
std::string array_element(const ordered_json& record) {
  std::string text = "  " + record.dump(2);
  for (auto at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 1)) text.insert(at + 1, "  ");
  return text;
}

void print_md_row(const ordered_json& r, std::ostream& out) {
  out << "| " << plain(r["test"]) << " | " << plain(r["config"]) << " | "
      << (r["gpu"].is_null() ? plain(r["device"]) : plain(r["gpu"])) << " | " << plain(r["engine"]) << " | "
      << plain(r["threads"]) << (r["processes"] > 1 ? " x " + plain(r["processes"]) + " processes" : "")
      << (r["scaling"].is_null() ? "" : " (" + scale(r["scaling"].get<double>()) + " one)") << " | "
      << plain(r["decoder"]) << " | " << shape(r) << " | " << plain(r["batch"]) << " | " << plain(r["seq_len"]) << " | "
      << plain(r["n_tokens"]) << " | " << plain(r["avg_tokens_per_s"]) << " ± " << plain(r["stddev_tokens_per_s"])
      << " | " << plain(r["token_latency_us_p50"]) << " | " << plain(r["token_latency_us_p99"]) << " |\n";
}

}  // namespace

BenchPrinter::BenchPrinter(std::string format, std::ostream& out)
    : format_(std::move(format)), out_(out), commit_(current_commit()) {
  if (format_ == "json")
    out_ << "[\n";
  else if (format_ == "md")
    out_ << "| test | config | device | engine | threads | decoder | model | batch | seq_len | tokens | tokens/s | "
            "us/token p50 | p99 |\n"
         << "| --- | --- | --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  out_ << std::flush;
}

void BenchPrinter::print(const genrnn::BenchResult& result) {
  const ordered_json r = record(result, commit_);
  if (format_ == "json") {
    out_ << (printed_ > 0 ? ",\n" : "") << array_element(r);
  } else if (format_ == "csv") {
    std::string separator;
    if (printed_ == 0) {
      for (const auto& item : r.items()) out_ << std::exchange(separator, ",") << item.key();
      out_ << '\n';
      separator.clear();
    }
    for (const auto& item : r.items()) out_ << std::exchange(separator, ",") << csv_field(plain(item.value()));
    out_ << '\n';
  } else {
    print_md_row(r, out_);
    if (!r["decoder_note"].is_null())
      notes_.push_back("decode " + plain(r["config"]) + (r["config"].is_null() ? "" : " ") + "batch " +
                       plain(r["batch"]) + ": the " + plain(r["decoder"]) + " decoder ran; " +
                       plain(r["decoder_note"]));
  }
  ++printed_;
  out_ << std::flush;
}

void BenchPrinter::finish() {
  if (format_ == "json") out_ << (printed_ > 0 ? "\n" : "") << "]\n";
  for (const auto& note : notes_) out_ << '\n' << note << '\n';
  out_ << std::flush;
}

}  // namespace gen_cuda
