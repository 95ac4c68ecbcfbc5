#include "progress_reporter.hpp"

#include <genrnn/error.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <sys/ioctl.h>
#include <unistd.h>

namespace gen_cuda {
namespace {

constexpr int bar_width = 12;
constexpr double redraw_interval_seconds = 0.1;  // a terminal cannot show faster steps anyway

std::string fixed(double value, int decimals) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(decimals) << value;
  return out.str();
}

bool is_last_step(const genrnn::TrainProgress& progress) {
  return progress.step >= progress.total_steps || progress.out_of_time;
}

// "mm:ss", or "h:mm:ss" from an hour on.
std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto total = static_cast<long long>(std::llround(seconds));
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", total / 3600, total / 60 % 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%02lld:%02lld", total / 60, total % 60);
  }
  return text;
}

}  // namespace

ProgressReporter::ProgressReporter(genrnn::TokenizerKind tokenizer, int64_t log_every, int64_t first_step,
                                   double time_limit, const std::string& csv_path, bool append_csv)
    : tokenizer_(tokenizer),
      log_every_(log_every),
      first_step_(first_step),
      time_limit_(time_limit),
      terminal_(::isatty(STDERR_FILENO) == 1) {
  if (csv_path.empty()) return;
  std::error_code no_file;
  const auto existing_size = std::filesystem::file_size(csv_path, no_file);
  const bool continues_rows = append_csv && !no_file && existing_size > 0;
  csv_.open(csv_path, append_csv ? std::ios::app : std::ios::trunc);
  if (!csv_) {
    throw genrnn::Error("cannot open log file '" + csv_path + "': " + std::strerror(errno));
  }
  csv_ << std::setprecision(9);
  if (!continues_rows) csv_ << "step,train_loss,val_loss,tokens_per_second,elapsed_seconds,tokens\n";
}

std::string ProgressReporter::summary(const genrnn::TrainProgress& progress) const {
  // Bits per character for characters; perplexity is the usual yardstick for words.
  const std::string quality = tokenizer_ == genrnn::TokenizerKind::character
                                  ? fixed(progress.train_loss / std::log(2.0), 3) + " bpc"
                                  : "ppl " + fixed(std::exp(progress.train_loss), 2);
  std::string text = "loss " + fixed(progress.train_loss, 4) + " (" + quality + ")";
  if (progress.val_loss >= 0) text += " | val " + fixed(progress.val_loss, 4);
  return text + " | " + fixed(progress.tokens_per_second, 0) + " tok/s";
}

double ProgressReporter::eta_seconds(const genrnn::TrainProgress& progress) const {
  const int64_t steps_this_run = progress.step - first_step_;
  if (steps_this_run <= 0) return -1;
  const double by_steps = progress.elapsed_seconds / steps_this_run * (progress.total_steps - progress.step);
  // A time limit ends the run when it comes first (a step or so later: the step it runs out in).
  return time_limit_ > 0 ? std::min(by_steps, std::max(time_limit_ - progress.elapsed_seconds, 0.0)) : by_steps;
}

void ProgressReporter::redraw(const genrnn::TrainProgress& progress) {
  double fraction = progress.total_steps > 0 ? static_cast<double>(progress.step) / progress.total_steps : 1.0;
  if (time_limit_ > 0) fraction = std::max(fraction, progress.elapsed_seconds / time_limit_);
  if (progress.out_of_time) fraction = 1;
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int filled = static_cast<int>(fraction * bar_width);
  std::ostringstream line;
  line << '[' << std::string(filled, '#') << std::string(bar_width - filled, '.') << "] " << std::setw(3)
       << static_cast<int>(fraction * 100) << "% " << progress.step << '/' << progress.total_steps << ' '
       << format_duration(progress.elapsed_seconds) << '<' << format_duration(eta_seconds(progress)) << ' '
       << summary(progress);
  // A line longer than the terminal wraps, and '\r' could then no longer redraw it.
  winsize window{};
  const int columns = ::ioctl(STDERR_FILENO, TIOCGWINSZ, &window) == 0 && window.ws_col > 0 ? window.ws_col : 80;
  // '\r' returns to the line's start; "\033[K" clears what a longer previous line left.
  std::cerr << '\r' << line.str().substr(0, columns - 1) << "\033[K" << std::flush;
  line_open_ = true;
  last_redraw_seconds_ = progress.elapsed_seconds;
}

void ProgressReporter::write_csv_row(const genrnn::TrainProgress& progress) {
  csv_ << progress.step << ',';
  if (progress.loss_read) csv_ << progress.train_loss;
  csv_ << ',';
  if (progress.evaluated) csv_ << progress.val_loss;
  csv_ << ',' << progress.tokens_per_second << ',' << progress.elapsed_seconds << ',' << progress.tokens << '\n';
  // Keep the file current for whoever plots it during a long run.
  if (progress.evaluated || progress.checkpointed) csv_.flush();
}

void ProgressReporter::report(const genrnn::TrainProgress& progress) {
  last_ = progress;
  if (csv_.is_open()) write_csv_row(progress);
  const bool milestone = progress.evaluated || progress.checkpointed || is_last_step(progress);
  if (terminal_) {
    if (milestone || progress.elapsed_seconds - last_redraw_seconds_ >= redraw_interval_seconds) {
      redraw(progress);
    }
  } else if (milestone || progress.step % log_every_ == 0) {
    std::cerr << "step " << progress.step << '/' << progress.total_steps << " | " << summary(progress) << " | "
              << format_duration(progress.elapsed_seconds) << " elapsed | ETA "
              << format_duration(eta_seconds(progress)) << (progress.checkpointed ? " | checkpoint saved" : "")
              << std::endl;
  }
}

void ProgressReporter::finish() {
  if (line_open_) std::cerr << std::endl;
  line_open_ = false;
}

}  // namespace gen_cuda
