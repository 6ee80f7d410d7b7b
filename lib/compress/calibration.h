#pragma once
// Activation statistics from running a model on calibration text: for every weight matrix, the
// mean square of each input column, E[x_j^2] (llama.cpp's imatrix). They say which columns of a
// weight matter, for importance-weighted quantization and for Wanda-style pruning.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace dilmodeli::model {
class Model;
class MatmulObserver;
}
namespace dilmodeli::tokenizer { class Tokenizer; }

namespace dilmodeli::compress {

struct ActivationStats {
    std::map<std::string, std::vector<float>> mean_square;  // tensor name -> per input column
    int64_t tokens = 0;                                      // calibration tokens seen
};

struct CalibrationOptions {
    int64_t ctx = 256;         // tokens per chunk (each chunk from an empty cache, BOS first)
    int64_t max_chunks = 32;   // 0: the whole text
    int threads = 0;
    std::function<void(int64_t done, int64_t total)> progress;
};

// Runs the model over `text` in chunks of options.ctx tokens, each from an empty cache with BOS
// first, at most options.max_chunks of them, with `observer` watching every matrix product; the
// one pass every calibration statistic is gathered from. Returns the tokens run. Error(Usage)
// when the text gives less than one chunk.
int64_t run_calibration_chunks(model::Model& model, const tokenizer::Tokenizer& tokenizer,
                               const std::string& text, const CalibrationOptions& options,
                               model::MatmulObserver& observer);

// Error(Usage) when the text gives less than one chunk.
ActivationStats collect_activation_stats(model::Model& model, const tokenizer::Tokenizer& tokenizer,
                                         const std::string& text, const CalibrationOptions& options);

// Reads a text file and collects statistics (convenience for the CLI).
ActivationStats collect_activation_stats_from_file(model::Model& model, const std::string& text_path,
                                                   const CalibrationOptions& options);

}  // namespace dilmodeli::compress
