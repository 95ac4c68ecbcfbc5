#include "cuda/device_beam_search.hpp"

#include <algorithm>
#include <optional>

#include "core/nvtx_range.hpp"
#include "cuda/cuda_graph.hpp"
#include "genrnn/error.hpp"
#include "kernels/beam_ops.hpp"

namespace genrnn::cuda {
namespace {

// A copy of `values` on the device, queued on `stream` (staged before this returns).
template <class T>
DeviceBuffer<T> uploaded(const std::vector<T>& values, cudaStream_t stream) {
  DeviceBuffer<T> buffer(std::max<std::size_t>(values.size(), 1), stream);
  GENRNN_CUDA_CHECK(
      cudaMemcpyAsync(buffer.data(), values.data(), values.size() * sizeof(T), cudaMemcpyHostToDevice, stream));
  return buffer;
}

// `count` values from the device, their copy queued on `stream`: read them after a synchronize.
template <class T>
std::vector<T> download_queued(const T* device, std::size_t count, cudaStream_t stream) {
  std::vector<T> values(count);
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(values.data(), device, count * sizeof(T), cudaMemcpyDeviceToHost, stream));
  return values;
}

// The plan's stop tables, one after another on the device.
struct StopTables {
  DeviceBuffer<int> transitions, after_space;
  DeviceBuffer<uint8_t> token_flags;
  std::vector<std::size_t> transitions_at, after_space_at;  // each table's start

  StopTables(const BeamPlan& plan, cudaStream_t stream)
      : transitions(stream), after_space(stream), token_flags(uploaded(plan.token_flags, stream)) {
    std::vector<int> all_transitions, all_after_space;
    for (const StopTable& stop : plan.stops) {
      transitions_at.push_back(all_transitions.size());
      after_space_at.push_back(all_after_space.size());
      all_transitions.insert(all_transitions.end(), stop.transitions.begin(), stop.transitions.end());
      all_after_space.insert(all_after_space.end(), stop.after_space.begin(), stop.after_space.end());
    }
    transitions = uploaded(all_transitions, stream);
    after_space = uploaded(all_after_space, stream);
    GENRNN_CUDA_CHECK(cudaStreamSynchronize(stream));  // the host vectors go away
  }

  math::StopAutomaton automaton(const BeamPlan& plan, int stop) const {
    if (stop < 0) return {0, 0, nullptr, nullptr, nullptr};
    return {plan.stops[stop].length, static_cast<int>(plan.token_flags.size()),
            transitions.data() + transitions_at[stop], after_space.data() + after_space_at[stop], token_flags.data()};
  }
};

// Everything a search's kernels read and write, but the model's.
struct SearchMemory {
  std::vector<kernels::BeamRequestShape> shapes;
  int rows = 0, steps = 0;  // the longest request's length
  DeviceBuffer<kernels::BeamRequestShape> requests;
  DeviceBuffer<int> row_request, step, live_count, stop_state, token, gather_from, continuing_count, ending_count,
      trace_parent, trace_token, finished_count, next_stop_state;
  DeviceBuffer<double> logprob, next_logprob;
  DeviceBuffer<kernels::BeamCandidate> continuing, ending;
  DeviceBuffer<kernels::BeamEnded> finished;
  kernels::BeamSearchState state{};

  SearchMemory(const BeamPlan& plan, const StopTables& stops, cudaStream_t stream)
      : requests(stream),
        row_request(stream),
        step(stream),
        live_count(stream),
        stop_state(stream),
        token(stream),
        gather_from(stream),
        continuing_count(stream),
        ending_count(stream),
        trace_parent(stream),
        trace_token(stream),
        finished_count(stream),
        next_stop_state(stream),
        logprob(stream),
        next_logprob(stream),
        continuing(stream),
        ending(stream),
        finished(stream) {
    int max_width = 0, max_best = 0;
    std::size_t finished_slots = 0;
    std::vector<int> rows_request, tokens, ones;
    for (std::size_t r = 0; r < plan.requests.size(); ++r) {
      const BeamPlan::Request& request = plan.requests[r];
      shapes.push_back(
          {rows, request.width, request.best, request.length, stops.automaton(plan, request.stop), finished_slots});
      rows += request.width;
      finished_slots += static_cast<std::size_t>(request.length) * request.best;
      max_width = std::max(max_width, request.width);
      max_best = std::max(max_best, request.best);
      steps = std::max(steps, request.length);
      rows_request.insert(rows_request.end(), request.width, static_cast<int>(r));
      tokens.insert(tokens.end(), request.width, request.previous);
      ones.push_back(1);
    }
    std::vector<int> identity(rows);
    for (int row = 0; row < rows; ++row) identity[row] = row;
    const auto zeros = [&](auto& buffer, std::size_t count) {
      buffer.reserve(count);
      GENRNN_CUDA_CHECK(cudaMemsetAsync(buffer.data(), 0, count * sizeof(*buffer.data()), stream));
    };
    // Every request starts with one live beam, its prompt: log-probability 0, stop state 0.
    requests = uploaded(shapes, stream);
    row_request = uploaded(rows_request, stream);
    live_count = uploaded(ones, stream);
    token = uploaded(tokens, stream);
    gather_from = uploaded(identity, stream);
    zeros(step, 1);
    zeros(stop_state, rows);
    zeros(logprob, rows);
    zeros(finished_count, plan.requests.size());
    const auto row_count = static_cast<std::size_t>(rows), trace = static_cast<std::size_t>(steps) * rows;
    for (auto* buffer : {&continuing_count, &ending_count, &next_stop_state}) buffer->reserve(row_count);
    next_logprob.reserve(row_count);
    trace_parent.reserve(trace);
    trace_token.reserve(trace);
    continuing.reserve(row_count * max_width);
    ending.reserve(row_count * max_best);
    finished.reserve(std::max<std::size_t>(finished_slots, 1));
    GENRNN_CUDA_CHECK(cudaStreamSynchronize(stream));  // the host vectors go away
    state = {requests.data(),
             row_request.data(),
             rows,
             max_width,
             max_best,
             step.data(),
             live_count.data(),
             logprob.data(),
             stop_state.data(),
             token.data(),
             gather_from.data(),
             continuing.data(),
             continuing_count.data(),
             ending.data(),
             ending_count.data(),
             trace_parent.data(),
             trace_token.data(),
             finished.data(),
             finished_count.data(),
             next_logprob.data(),
             next_stop_state.data()};
  }
};

}  // namespace

BeamTrace search_beams_on_device(GpuModel& model, const BeamPlan& plan, bool cuda_graphs) {
  NvtxRange range("beam search on the device");
  const cudaStream_t stream = model.context().stream();
  const ModelConfig& config = model.config();
  const int vocab = config.vocab_size, requests = static_cast<int>(plan.requests.size());
  const StopTables stops(plan, stream);
  SearchMemory memory(plan, stops, stream);
  const int rows = memory.rows;
  // The logits of each request's first live beam: its prompt's.
  DeviceBuffer<float> logits(static_cast<std::size_t>(rows) * vocab, stream);
  for (int r = 0; r < requests; ++r)
    GENRNN_CUDA_CHECK(cudaMemcpyAsync(logits.data() + static_cast<std::size_t>(memory.shapes[r].first_row) * vocab,
                                      plan.first_logits.data() + static_cast<std::size_t>(r) * vocab,
                                      vocab * sizeof(float), cudaMemcpyHostToDevice, stream));

  const auto choose = [&] {
    kernels::beam_rank_rows(logits.data(), vocab, memory.state, stream);
    kernels::beam_select(requests, memory.state, stream);
  };
  const auto step = [&] {
    choose();
    // Each live beam goes on from its parent's state with its own token.
    const int from = model.state_parity();
    kernels::gather_state_rows(model.state_h(from), memory.gather_from.data(), config.num_layers, rows,
                               config.hidden_size, model.state_h(from ^ 1), stream);
    if (model.state_c(from))
      kernels::gather_state_rows(model.state_c(from), memory.gather_from.data(), config.num_layers, rows,
                                 config.hidden_size, model.state_c(from ^ 1), stream);
    model.advance_state();
    model.forward(memory.token.data(), 1, false, {});
    model.advance_state();
    model.head(model.layers().outputs(), rows, logits.data(), true);
  };
  std::optional<CapturedGraph> graph;
  int steps = 0;
  while (steps < memory.steps) {
    if (steps + 1 == memory.steps) {
      choose();  // the last: no hypothesis goes on after it
    } else if (steps == 0 || !cuda_graphs) {
      step();  // the first as plain launches: every buffer has its size before a capture
    } else {
      if (!graph) {
        try {
          graph = CapturedGraph::capture(stream, step);
        } catch (const Error& e) {
          throw capture_failure("a beam search step", e);
        }
      }
      graph->replay(stream);
    }
    ++steps;
    if (steps % kCheckSteps == 0 && steps < memory.steps) {
      const auto live = download_queued(memory.live_count.data(), plan.requests.size(), stream);
      model.context().synchronize();
      if (std::all_of(live.begin(), live.end(), [](int count) { return count == 0; })) break;
    }
  }

  BeamTrace trace;
  trace.rows = rows;
  const auto traced = static_cast<std::size_t>(steps) * rows;
  trace.parents = download_queued(memory.trace_parent.data(), traced, stream);
  trace.tokens = download_queued(memory.trace_token.data(), traced, stream);
  const auto counts = download_queued(memory.finished_count.data(), plan.requests.size(), stream);
  const auto finished = download_queued(memory.finished.data(), memory.finished.capacity(), stream);
  model.context().synchronize();
  for (int r = 0; r < requests; ++r) {
    std::vector<EndedBeam> ended;
    for (int k = 0; k < counts[r]; ++k) {
      const kernels::BeamEnded& e = finished[memory.shapes[r].first_finished + k];
      ended.push_back({e.logprob, e.step, e.beam, e.token});
    }
    trace.ended.push_back(std::move(ended));
  }
  return trace;
}

}  // namespace genrnn::cuda
