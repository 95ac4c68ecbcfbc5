// gen_cuda info: the build, the GPUs found, the engines and what each runs and, with -m, a model's shape.
#include <genrnn/genrnn.hpp>

#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"

namespace gen_cuda {
namespace {

void print_build() {
  const genrnn::BuildInfo build = genrnn::build_info();
  std::cout << "gen_cuda " << genrnn::version() << '\n' << "build: ";
  if (build.cuda)
    std::cout << "CUDA runtime " << build.cuda_runtime << " | cuDNN " << build.cudnn
              << " (loaded: " << build.cudnn_loaded << ") | CUDA architectures " << build.cuda_architectures;
  else
    std::cout << "CPU only: " << build.no_cuda_reason << "; the GPU engines need the CUDA toolkit and cuDNN 9";
  std::cout << " | BLAS " << build.blas << " | CPU cell loops " << build.cpu_cell_loops << " | CPU products "
            << build.cpu_products << '\n';
  std::cout << "data parallel (mpirun -np N gen_cuda train): "
            << (genrnn::build_has_mpi() ? "MPI yes" : "no: this build has no MPI (-DGENRNN_MPI=ON)")
            << (genrnn::build_has_mpi() ? (genrnn::build_has_nccl() ? ", NCCL for GPUs yes" : ", NCCL for GPUs no")
                                        : "")
            << '\n';
}

void print_devices() {
  std::string why_none;
  const std::vector<genrnn::GpuInfo> gpus = genrnn::list_gpus(&why_none);
  if (gpus.empty()) std::cout << "GPUs: none (" << why_none << ")\n";
  for (const genrnn::GpuInfo& gpu : gpus) {
    const double gibibytes = static_cast<double>(gpu.total_memory) / (1ull << 30);
    std::cout << "GPU " << gpu.index << ": " << gpu.name << " | " << std::fixed << std::setprecision(1) << gibibytes
              << " GiB | compute capability " << gpu.compute_major << '.' << gpu.compute_minor << '\n';
  }
  for (const genrnn::EngineInfo& engine : genrnn::registered_engines()) {
    std::cout << "engine " << engine.name << " (" << engine.device
              << (engine.in_this_build ? "" : ", not in this build") << "): " << engine.description
              << " | dropout: " << engine.dropout << " | cells:";
    for (std::size_t k = 0; k < engine.cells.size(); ++k) std::cout << (k == 0 ? " " : ", ") << engine.cells[k];
    std::vector<std::string> decoders = engine.decoders;
    decoders.push_back("auto");
    if (decoders.size() > 1) std::cout << " | --decoder: " << one_of(decoders);
    std::cout << '\n';
    for (const std::string& limit : engine.limits) std::cout << "  " << limit << '\n';
  }
  const genrnn::EngineChoice choice = genrnn::choose_engine(genrnn::Device::automatic);
  std::cout << "engine for --device auto: " << choice.engine << " (" << choice.reason << ")\n";
}

void print_model(const std::string& path, const genrnn::Model& model) {
  const genrnn::ModelConfig& config = model.config;
  std::cout << "model: " << path << '\n'
            << "  cell: " << genrnn::to_string(config.cell) << '\n'
            << "  layers: " << config.num_layers << '\n'
            << "  hidden: " << config.hidden_size << '\n'
            << "  embed: " << (config.embedding_dim > 0 ? std::to_string(config.embedding_dim) : "one-hot") << '\n'
            << "  vocab size: " << config.vocab_size << '\n'
            << "  tokenizer: " << genrnn::to_string(config.tokenizer) << '\n'
            << "  parameters: " << genrnn::parameter_count(config) << '\n'
            << "  tensors:\n";
  for (const genrnn::TensorSpec& tensor : genrnn::parameter_layout(config)) {
    std::cout << "    " << tensor.name << " [";
    for (std::size_t i = 0; i < tensor.shape.size(); ++i) {
      std::cout << (i == 0 ? "" : ", ") << tensor.shape[i];
    }
    std::cout << "]\n";
  }
}

int run_info(const std::string& model_path) {
  // Loaded first: a bad model file is then the only thing printed.
  std::optional<genrnn::Model> model;
  if (!model_path.empty()) model = genrnn::Model::load(model_path);
  print_build();
  print_devices();
  if (model) print_model(model_path, *model);
  std::cout << std::flush;
  return 0;
}

}  // namespace

Command add_info_command(CLI::App& parent) {
  CLI::App* command = parent.add_subcommand("info", "Version, build, GPUs and, with -m, a model's shape");
  auto model_path = std::make_shared<std::string>();
  command->add_option("-m,--model", *model_path, "Model checkpoint (safetensors)");
  return {command, [model_path] { return run_info(*model_path); }};
}

}  // namespace gen_cuda
