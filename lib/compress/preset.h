#pragma once
// Presets of `quantize --preset`: prune, then mixed precision under a bits-per-weight budget.
// The shipped ones (low, balanced, high) are compiled in, so the binary needs no files; an
// installed copy (PREFIX/share/dilmodeli/presets/NAME.json, `cmake --install` puts them there)
// takes their place, and a ./configs/presets/NAME.json in the current directory takes the place
// of both; --preset-file reads any file of the same schema:
//   {"description": "...",
//    "prune": {"sparsity": 0.3, "method": "nash", "structure": "ffn", "width_multiple": 0},
//    "quantize": {"budget_bpw": 4.5, "importance": "relative", "cohesion": 0.001}}
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dilmodeli::compress {

struct Preset {
    std::string path;  // where it was read from ("built-in NAME.json" for a compiled-in one)
    std::string description;
    bool prune = false;
    double sparsity = 0;
    std::string method = "nash", structure = "ffn";
    int64_t width_multiple = 0;
    double budget_bpw = 0;
    std::optional<double> cohesion;
    std::string importance;  // empty: the run's own choice
};

// Parses a preset's JSON; `path` names it in the messages. Error(Usage) for anything the schema
// does not allow (unknown keys, wrong types, values out of range, no quantize.budget_bpw).
Preset parse_preset(const std::string& json_text, const std::string& path);

// Reads and parses a preset file. Error(Usage) when it cannot be read.
Preset load_preset_file(const std::string& path);

// The preset called `name`: ./configs/presets/NAME.json when that file exists, else
// installed_preset_dir()/NAME.json when that does (an administrator's edit of an installed
// preset wins over the compiled-in one), else the compiled-in one. Error(Usage) for a name that
// is not [a-z0-9_-]+ or that none holds.
Preset find_preset(const std::string& name);

// Where an installed binary's presets are: ../share/dilmodeli/presets from the directory of the
// running executable (/proc/self/exe, symbolic links resolved), so /usr/local/bin/dilmodeli
// reads /usr/local/share/dilmodeli/presets. Empty when /proc/self/exe cannot be read.
std::string installed_preset_dir();

// The compiled-in presets' names, and the JSON text of one (empty for an unknown name): the
// text of configs/presets/NAME.json in the source tree.
std::vector<std::string> builtin_preset_names();
std::string builtin_preset_text(const std::string& name);

}  // namespace dilmodeli::compress
