#pragma once
// Everything an application needs: #include <genrnn/genrnn.hpp> and link genrnn::genrnn_cuda.
#include "genrnn/config.hpp"
#include "genrnn/device.hpp"
#include "genrnn/error.hpp"
#include "genrnn/evaluate.hpp"
#include "genrnn/generator.hpp"
#include "genrnn/model.hpp"
#include "genrnn/parameters.hpp"
#include "genrnn/sampling.hpp"
#include "genrnn/state.hpp"
#include "genrnn/tokenizer.hpp"
#include "genrnn/trainer.hpp"
#include "genrnn/version.hpp"
