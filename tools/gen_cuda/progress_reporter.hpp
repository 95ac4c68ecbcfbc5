#pragma once
#include <genrnn/config.hpp>
#include <genrnn/trainer.hpp>

#include <cstdint>
#include <fstream>
#include <string>

namespace gen_cuda {

// Training progress on stderr: one line redrawn in place when stderr is a terminal, plain lines
// otherwise (every `log_every` steps, at evaluations, checkpoints and the last step); with a
// CSV path, also one row per step in that file.
class ProgressReporter {
 public:
  // `first_step`: where this run starts (non-zero when resuming), and `time_limit` (seconds; 0:
  // none), for the ETA and the bar. `csv_path` empty: no CSV. `append_csv`: continue an
  // existing CSV (a resumed run) instead of replacing it.
  ProgressReporter(genrnn::TokenizerKind tokenizer, int64_t log_every, int64_t first_step, double time_limit,
                   const std::string& csv_path, bool append_csv);
  ~ProgressReporter() { finish(); }  // an error message then starts on a line of its own
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  void report(const genrnn::TrainProgress& progress);
  // Ends a redrawn line, so that what follows starts on a line of its own.
  void finish();
  const genrnn::TrainProgress& last() const { return last_; }

 private:
  // "loss 1.2345 (1.781 bpc) | val 1.3000 | 12345 tok/s"
  std::string summary(const genrnn::TrainProgress& progress) const;
  double eta_seconds(const genrnn::TrainProgress& progress) const;  // < 0: not known yet
  void redraw(const genrnn::TrainProgress& progress);
  void write_csv_row(const genrnn::TrainProgress& progress);

  genrnn::TokenizerKind tokenizer_;
  int64_t log_every_;
  int64_t first_step_;
  double time_limit_;
  bool terminal_;
  bool line_open_ = false;  // a redrawn line is on screen without its newline
  double last_redraw_seconds_ = -1;
  std::ofstream csv_;
  genrnn::TrainProgress last_;
};

}  // namespace gen_cuda
