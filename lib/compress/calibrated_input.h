#pragma once
// The input of quantize and prune: a GGUF file, run as a model on calibration text when there
// is some. With text the model is loaded (its file is the input) and the statistics gathered;
// without, the file is only opened.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "compress/calibration.h"
#include "compress/prune_saliency.h"

namespace dilmodeli::gguf { class GgufFile; }

namespace dilmodeli::compress {

struct CalibrationRequest {
    std::string text_path;  // empty: no calibration, the file is only opened
    int64_t chunks = 32;    // 0: the whole text
    int64_t ctx = 0;        // tokens per chunk; 0: min(256, the model's trained context)
    int threads = 0;
    bool tokens = false;    // also keep the token stream and its counts (mixed precision)
    bool ffn_gram = false;  // also the FFN Gram matrices (structured pruning)
    std::string purpose;    // the log line: "calibrating on TEXT for PURPOSE"; empty: chunks x ctx
    std::function<void(int64_t done, int64_t total)> progress;
};

struct CalibratedInput {
    std::unique_ptr<model::Model> model;   // loaded when calibrating
    std::unique_ptr<gguf::GgufFile> file;  // opened otherwise
    ActivationStats stats;
    FfnGram gram;                          // with request.ffn_gram
    std::vector<int32_t> tokens;           // with request.tokens: the whole text, BOS first
    std::vector<double> token_counts;      // with request.tokens, over the tokens calibrated on
    int32_t bos_id = -1;
    int64_t ctx = 0;                       // tokens per chunk used

    CalibratedInput();
    ~CalibratedInput();
    CalibratedInput(CalibratedInput&&) noexcept;
    CalibratedInput& operator=(CalibratedInput&&) noexcept;

    bool calibrated() const { return model != nullptr; }
    const gguf::GgufFile& input() const;
    // Closes the model or file (the statistics stay).
    void close();
};

// Loads the model at `path` when request.text_path is given, else only opens the file.
CalibratedInput open_for_calibration(const std::string& path, const CalibrationRequest& request);
// Runs a loaded model on request.text_path and keeps the statistics; nothing without text.
void calibrate(CalibratedInput& input, const CalibrationRequest& request);
// Both: the model loaded and calibrated, or the file opened.
CalibratedInput open_calibrated(const std::string& path, const CalibrationRequest& request);

}  // namespace dilmodeli::compress
