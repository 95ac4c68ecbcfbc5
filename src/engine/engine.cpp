#include "engine/engine.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include "core/cell_table.hpp"
#include "engine/device_scope.hpp"
#include "engine/state_rows.hpp"
#include "genrnn/error.hpp"
#include "genrnn/parameters.hpp"

namespace genrnn {

double wall_clock_seconds(const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// ---- ModelEngine ----

ModelEngine::ModelEngine(std::string name, const ModelConfig& config)
    : name_(std::move(name)), config_((config.validate(), config)) {}

double ModelEngine::time_seconds(const std::function<void()>& work) { return wall_clock_seconds(work); }

void ModelEngine::set_parameters(const std::vector<float>& flat) {
  const std::size_t expected = parameter_count(config_);
  if (flat.size() != expected)
    throw Error("expected " + std::to_string(expected) + " parameters, got " + std::to_string(flat.size()));
  const DeviceScope scope(gpu());
  write_parameters(flat);
}

std::vector<float> ModelEngine::parameters() const {
  const DeviceScope scope(gpu());
  return read_parameters();
}

RecurrentState ModelEngine::state() const {
  const DeviceScope scope(gpu());
  return read_state();
}

void ModelEngine::set_state(const RecurrentState& state) {
  if (state.batch < 1) throw Error("a recurrent state needs a batch of at least 1");
  const std::size_t n = static_cast<std::size_t>(config_.num_layers) * state.batch * config_.hidden_size;
  const CellDescription& cell = describe_cell(config_.cell);
  auto check = [&](const std::vector<float>& values, const char* which) {
    if (!values.empty() && values.size() != n)
      throw Error(std::string("the recurrent state ") + which + " has " + std::to_string(values.size()) +
                  " values; expected " + std::to_string(n) + " (layers x batch x hidden)");
  };
  check(state.h, "h");
  if (!state.c.empty() && !cell.has_cell_state) throw Error(std::string("a ") + cell.name + " state has no c");
  check(state.c, "c");
  RecurrentState complete{state.batch, state.h, state.c};
  if (complete.h.empty()) complete.h.assign(n, 0.0f);
  if (cell.has_cell_state && complete.c.empty()) complete.c.assign(n, 0.0f);
  const DeviceScope scope(gpu());
  write_state(complete);
  batch_ = state.batch;
}

void ModelEngine::check_ids(const std::vector<int>& ids, const char* what) const {
  for (int id : ids)
    if (id < 0 || id >= config_.vocab_size)
      throw Error(std::string(what) + " id " + std::to_string(id) + " is outside the vocabulary of " +
                  std::to_string(config_.vocab_size));
}

// ---- TrainingEngine ----

void TrainingEngine::check_window(const TokenWindow& window) const {
  if (window.batch != batch())
    throw Error("a window of " + std::to_string(window.batch) + " streams met a state of " + std::to_string(batch()));
  const auto tokens = static_cast<std::size_t>(window.batch) * window.seq_len;
  if (window.seq_len < 1 || window.inputs.size() != tokens || window.targets.size() != tokens)
    throw Error("a window's inputs and targets must each fill batch x seq_len (seq_len >= 1)");
  check_ids(window.inputs, "token");
  check_ids(window.targets, "target");
}

math::DropoutMask TrainStepOptions::dropout_mask(int64_t step, int width) const {
  math::DropoutMask mask{dropout, dropout_seed, static_cast<uint64_t>(step)};
  if (streams.count > 0 && streams.count < streams.total) {
    mask.total_streams = static_cast<uint32_t>(streams.total);
    mask.first_stream = static_cast<uint32_t>(streams.first);
    mask.streams = static_cast<uint32_t>(streams.count);
    mask.width = static_cast<uint32_t>(width);
  }
  return mask;
}

std::optional<double> TrainingEngine::train_step(const TokenWindow& window, const TrainStepOptions& options,
                                                 GradientReducer* reducer) {
  check_window(window);
  options.validate();
  if (options.streams.count > 0 && options.streams.count != window.batch)
    throw Error("a window of " + std::to_string(window.batch) + " streams was said to hold " +
                std::to_string(options.streams.count));
  const DeviceScope scope(gpu());
  run_backward(window, options);
  if (reducer) reducer->average(gradient_buffer());
  run_update(options);
  if (!options.read_loss) return std::nullopt;
  return read_step_loss();
}

double TrainingEngine::eval_window(const TokenWindow& window) {
  check_window(window);
  const DeviceScope scope(gpu());
  return run_eval_window(window);
}

double TrainingEngine::compute_gradients(const TokenWindow& window, std::vector<float>& gradients) {
  check_window(window);
  const DeviceScope scope(gpu());
  return run_gradients(window, gradients);
}

OptimizerState TrainingEngine::optimizer_state() const {
  const DeviceScope scope(gpu());
  return read_optimizer_state();
}

void TrainingEngine::set_optimizer_state(const OptimizerState& state) {
  const std::size_t n = parameter_count(config());
  if ((!state.m.empty() && state.m.size() != n) || state.m.size() != state.v.size() || state.step < 0)
    throw Error("the optimizer state does not match the model's " + std::to_string(n) + " parameters");
  const DeviceScope scope(gpu());
  write_optimizer_state(state);
}

// ---- DecodingEngine ----

void DecodingEngine::prefill(const std::vector<int>& prompts, std::vector<float>& logits) {
  if (prompts.empty() || prompts.size() % static_cast<std::size_t>(batch()) != 0)
    throw Error("prefill needs one prompt of the same length for each of the state's " + std::to_string(batch()) +
                " streams");
  check_ids(prompts, "prompt token");
  const int length = static_cast<int>(prompts.size() / static_cast<std::size_t>(batch()));
  logits.resize(static_cast<std::size_t>(batch()) * config().vocab_size);
  const DeviceScope scope(gpu());
  run_prefill(prompts, length, logits);
}

void DecodingEngine::prefill_slots(const std::vector<int>& slots, const std::vector<std::vector<int>>& prompts,
                                   bool fresh, std::vector<float>& logits) {
  if (slots.empty() || slots.size() != prompts.size())
    throw Error("prefill_slots needs one prompt for each slot, and at least one slot");
  std::vector<bool> taken(static_cast<std::size_t>(batch()), false);
  for (int slot : slots) {
    if (slot < 0 || slot >= batch())
      throw Error("slot " + std::to_string(slot) + " is not one of the state's " + std::to_string(batch()) +
                  " streams");
    if (taken[static_cast<std::size_t>(slot)]) throw Error("slot " + std::to_string(slot) + " is given twice");
    taken[static_cast<std::size_t>(slot)] = true;
  }
  for (const auto& prompt : prompts) {
    if (prompt.empty()) throw Error("prefill_slots needs a prompt of at least one token for each slot");
    check_ids(prompt, "prompt token");
  }
  const int V = config().vocab_size, layers = config().num_layers, width = config().hidden_size;
  logits.assign(slots.size() * static_cast<std::size_t>(V), 0.0f);
  // Each length's slots as one batch of equal-length prompts.
  std::map<std::size_t, std::vector<std::size_t>> by_length;
  for (std::size_t k = 0; k < prompts.size(); ++k) by_length[prompts[k].size()].push_back(k);
  // Every slot in order, one length (a Generator's batch): one prefill where the state is, no
  // state through the host.
  bool whole_batch = by_length.size() == 1 && static_cast<int>(slots.size()) == batch();
  for (std::size_t k = 0; whole_batch && k < slots.size(); ++k) whole_batch = slots[k] == static_cast<int>(k);
  RecurrentState all = whole_batch ? RecurrentState{} : state();
  try {
    for (const auto& [length, members] : by_length) {
      std::vector<int> rows, joined;
      for (std::size_t k : members) {
        rows.push_back(slots[k]);
        joined.insert(joined.end(), prompts[k].begin(), prompts[k].end());
      }
      if (!whole_batch)
        set_state(fresh ? RecurrentState{static_cast<int>(rows.size()), {}, {}} : rows_of(all, rows, layers, width));
      else if (fresh)
        set_state({batch(), {}, {}});
      std::vector<float> group_logits;
      prefill(joined, group_logits);
      for (std::size_t i = 0; i < members.size(); ++i)
        std::copy_n(group_logits.begin() + static_cast<std::ptrdiff_t>(i * V), V,
                    logits.begin() + static_cast<std::ptrdiff_t>(members[i] * V));
      if (!whole_batch) set_rows(all, rows, state(), layers, width);
    }
  } catch (...) {
    if (!whole_batch) set_state(all);  // the slots as they were, or as far as the prefills went
    throw;
  }
  if (!whole_batch) set_state(all);
}

std::vector<StreamDraw> same_draws(const SamplingOptions& sampling, const std::vector<DrawKey>& keys,
                                   uint64_t position) {
  std::vector<StreamDraw> draws;
  draws.reserve(keys.size());
  for (const DrawKey& key : keys) draws.push_back({key, sampling, position});
  return draws;
}

DecodeStats DecodingEngine::decode(const std::vector<float>& logits, int length, const std::vector<StreamDraw>& streams,
                                   const TokenChunkCallback& on_tokens) {
  for (const StreamDraw& stream : streams) stream.sampling.validate();
  if (length < 1) throw Error("decode needs a length of at least 1");
  if (static_cast<int>(streams.size()) != batch() ||
      logits.size() != static_cast<std::size_t>(batch()) * config().vocab_size)
    throw Error("decode needs a key and the logits of each of the state's " + std::to_string(batch()) + " streams");
  if (!on_tokens) throw Error("decode needs a callback for the drawn tokens");
  const DeviceScope scope(gpu());
  return run_decode(logits, length, streams, on_tokens);
}

namespace {

void check_stop_table(const StopTable& stop, int vocab) {
  const auto states = static_cast<std::size_t>(stop.length);
  if (stop.length < 1 || stop.transitions.size() != states * vocab || stop.after_space.size() != states)
    throw Error("a beam search's stop table needs [length][vocab] transitions and [length] states after a space");
  const auto valid = [&](int state) { return state >= 0 && state <= stop.length; };
  if (!std::all_of(stop.transitions.begin(), stop.transitions.end(), valid) ||
      !std::all_of(stop.after_space.begin(), stop.after_space.end(), valid))
    throw Error("a beam search's stop table has a state outside [0, " + std::to_string(stop.length) + "]");
}

}  // namespace

BeamTrace DecodingEngine::search_beams(const BeamPlan& plan) {
  if (!searches_beams()) throw Error("the " + name() + " engine has no beam search of its own");
  const int vocab = config().vocab_size;
  int rows = 0;
  for (const BeamPlan::Request& request : plan.requests) {
    if (request.width < 1 || request.width > kMaxDeviceBeamWidth || request.best < 1 || request.best > request.width ||
        request.length < 1)
      throw Error("a beam search on the device needs 1 <= best <= width <= " + std::to_string(kMaxDeviceBeamWidth) +
                  " and a length of at least 1");
    if (request.stop < -1 || request.stop >= static_cast<int>(plan.stops.size()))
      throw Error("a beam search's request names a stop table it does not have");
    if (request.previous < 0 || request.previous >= vocab)
      throw Error("token " + std::to_string(request.previous) + " is not in the vocabulary");
    rows += request.width;
  }
  if (plan.requests.empty() || rows != batch())
    throw Error("a beam search needs the state to hold its " + std::to_string(rows) + " beams, not " +
                std::to_string(batch()) + " streams");
  if (plan.first_logits.size() != plan.requests.size() * static_cast<std::size_t>(vocab) ||
      plan.token_flags.size() != static_cast<std::size_t>(vocab))
    throw Error("a beam search needs each request's first logits and a flag per token");
  for (const StopTable& stop : plan.stops) check_stop_table(stop, vocab);
  const DeviceScope scope(gpu());
  return run_beam_search(plan);
}

BeamTrace DecodingEngine::run_beam_search(const BeamPlan&) {
  throw Error("the " + name() + " engine has no beam search of its own");
}

// ---- TokenSampler ----

double TokenSampler::time_seconds(const std::function<void()>& work) { return wall_clock_seconds(work); }

void TokenSampler::load_logits(const std::vector<float>& logits, int streams) {
  if (streams < 1 || logits.empty() || logits.size() % static_cast<std::size_t>(streams) != 0)
    throw Error("load_logits needs [streams][vocab] logits");
  streams_ = streams;
  vocab_ = static_cast<int>(logits.size() / static_cast<std::size_t>(streams));
  const DeviceScope scope(gpu());
  write_logits(logits);
}

void TokenSampler::draw(const std::vector<StreamDraw>& streams) {
  for (const StreamDraw& stream : streams) stream.sampling.validate();
  if (streams_ == 0 || static_cast<int>(streams.size()) != streams_)
    throw Error("draw needs loaded logits and one key per loaded stream");
  const DeviceScope scope(gpu());
  run_draw(streams);
}

}  // namespace genrnn
