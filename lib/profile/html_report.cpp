#include "profile/html_report.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "profile/units.h"

namespace dilmodeli::profile {
namespace {

const char* kPromptColour = "#4e79a7";
const char* kGenerationColour = "#f28e2b";
const char* kThreadColours[] = {"#59a14f", "#e15759", "#76b7b2", "#b07aa1"};

struct Series {
    std::string name;
    const char* colour;
    std::vector<double> values;  // shares, 0..1
};

// Horizontal bars, one group per label, one bar per series.
std::string bar_chart(const std::string& title, const std::vector<std::string>& labels, const std::vector<Series>& series) {
    const int label_w = 110, bar_w = 480, row_h = 12, gap = 6, top = 34;
    const int group_h = row_h * int(series.size()) + gap;
    const int height = top + group_h * int(labels.size()) + 10;
    const int width = label_w + bar_w + 70;
    double max_value = 0.0;
    for (const Series& s : series)
        for (double v : s.values) max_value = std::max(max_value, v);
    if (max_value <= 0) max_value = 1;
    std::string svg = strprintf("<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n", width, height,
                                width, height);
    svg += "<title>" + html_escape(title) + "</title>\n";
    svg += strprintf("<text x=\"0\" y=\"14\" class=\"h\">%s</text>\n", html_escape(title).c_str());
    int legend_x = label_w;
    for (const Series& s : series) {
        svg += strprintf("<rect x=\"%d\" y=\"20\" width=\"10\" height=\"10\" fill=\"%s\"/>", legend_x, s.colour);
        svg += strprintf("<text x=\"%d\" y=\"29\">%s</text>\n", legend_x + 14, html_escape(s.name).c_str());
        legend_x += 120;
    }
    for (size_t i = 0; i < labels.size(); ++i) {
        const int y0 = top + int(i) * group_h;
        svg += strprintf("<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", label_w - 6,
                         y0 + group_h / 2 + 2, html_escape(labels[i]).c_str());
        for (size_t k = 0; k < series.size(); ++k) {
            const double v = i < series[k].values.size() ? series[k].values[i] : 0.0;
            const double w = bar_w * v / max_value;
            const int y = y0 + int(k) * row_h;
            svg += strprintf("<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s %s: %.1f%%</title></rect>",
                             label_w, y, w, row_h - 2, series[k].colour, html_escape(series[k].name).c_str(),
                             html_escape(labels[i]).c_str(), 100 * v);
            svg += strprintf("<text x=\"%.1f\" y=\"%d\" class=\"s\">%.1f%%</text>\n", label_w + w + 4, y + row_h - 3,
                             100 * v);
        }
    }
    svg += "</svg>\n";
    return svg;
}

// Axis mapping for the two log-scale charts.
struct Axis {
    double lo, hi;  // data range (log10 when logarithmic)
    int pixel_lo, pixel_hi;
    bool log;
    double map(double v) const {
        const double x = log ? std::log10(std::max(v, 1e-30)) : v;
        return pixel_lo + (x - lo) / (hi - lo) * (pixel_hi - pixel_lo);
    }
};

std::string ladder_chart(const ProfileReport& r) {
    const BandwidthReport& b = r.bandwidth;
    const int width = 720, height = 360, left = 60, right = 160, top = 30, bottom = 40;
    std::string svg = strprintf("<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n", width, height,
                                width, height);
    svg += "<title>Read bandwidth by working-set size</title>\n";
    svg += "<text x=\"0\" y=\"14\" class=\"h\">Read bandwidth ladder (GB/s by working set) with the generation ops placed on it</text>\n";
    if (b.ladder.size() < 2) return svg + "<text x=\"60\" y=\"60\">ladder not measured</text>\n</svg>\n";
    // Log scale on both axes: DRAM-level rates and L1 rates differ a hundredfold.
    double max_rate = 0, min_rate = 1e30;
    for (const LadderPoint& p : b.ladder)
        for (double v : p.gb_per_s) max_rate = std::max(max_rate, v), min_rate = std::min(min_rate, v);
    for (const OpRow& o : r.generation.ops) max_rate = std::max(max_rate, o.gb_per_s);
    // Ops far below the ladder (the embedding reads one row) sit on the axis.
    const double y_lo = std::floor(std::log10(std::max(min_rate / 4, 1e-3))), y_hi = std::ceil(std::log10(std::max(max_rate, 1.0)));
    const Axis x{std::log10(double(b.ladder.front().bytes)), std::log10(double(b.ladder.back().bytes)), left,
                 width - right, true};
    const Axis y{y_lo, y_hi > y_lo ? y_hi : y_lo + 1, height - bottom, top, true};
    svg += strprintf("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", left, height - bottom,
                     width - right, height - bottom);
    svg += strprintf("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", left, top, left, height - bottom);
    for (double e = y.lo; e <= y.hi + 1e-9; e += 1)
        for (double m : {1.0, 2.0, 5.0}) {
            const double v = m * std::pow(10.0, e);
            if (std::log10(v) > y.hi + 1e-9) break;
            svg += strprintf("<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"s\">%g</text>\n", left - 4,
                             y.map(v) + 3, v);
        }
    svg += strprintf("<text x=\"12\" y=\"%d\" class=\"s\" transform=\"rotate(-90 12 %d)\" text-anchor=\"middle\">GB/s "
                     "(log)</text>\n",
                     (top + height - bottom) / 2, (top + height - bottom) / 2);
    for (size_t i = 0; i < b.ladder.size(); i += 2)
        svg += strprintf("<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"s\">%s</text>\n",
                         x.map(double(b.ladder[i].bytes)), height - bottom + 14,
                         html_escape(human_bytes(b.ladder[i].bytes)).c_str());
    svg += strprintf("<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"s\">working set (bytes, log scale)</text>\n",
                     (left + width - right) / 2, height - 6);
    // Cache capacities (one thread) as dashed verticals.
    for (const CacheLevel& c : r.caches.levels) {
        const double bytes = double(c.capacity_for_threads(1));
        if (bytes < double(b.ladder.front().bytes) || bytes > double(b.ladder.back().bytes)) continue;
        const double px = x.map(bytes);
        svg += strprintf("<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"cache\"/>", px, top, px,
                         height - bottom);
        svg += strprintf("<text x=\"%.1f\" y=\"%d\" class=\"s\">%s %s</text>\n", px + 3, top + 10 + 12 * (c.level % 2),
                         c.name().c_str(), html_escape(human_bytes(c.effective_bytes())).c_str());
    }
    for (size_t k = 0; k < b.threads.size(); ++k) {
        std::string points;
        for (const LadderPoint& p : b.ladder)
            if (k < p.gb_per_s.size()) points += strprintf("%.1f,%.1f ", x.map(double(p.bytes)), y.map(p.gb_per_s[k]));
        const char* colour = kThreadColours[k % 4];
        svg += strprintf("<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n", points.c_str(),
                         colour);
        svg += strprintf("<text x=\"%d\" y=\"%d\" fill=\"%s\">%d thread%s</text>\n", width - right + 10,
                         top + 40 + 14 * int(k), colour, b.threads[k], b.threads[k] == 1 ? "" : "s");
    }
    // The ops: all at the generation's working set, at the bandwidth they reached.
    const double ws = double(std::max<uint64_t>(r.generation.working_set_bytes, 1));
    const double px = x.map(std::clamp(ws, double(b.ladder.front().bytes), double(b.ladder.back().bytes)));
    int row = 0;
    for (const OpRow& o : r.generation.ops) {
        if (o.weight_bytes + o.kv_bytes == 0) continue;
        const double py = y.map(std::max(o.gb_per_s, std::pow(10.0, y.lo)));
        svg += strprintf("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>%s: %.1f GB/s, %.0f%% of the "
                         "ceiling</title></circle>\n",
                         px, py, kGenerationColour, html_escape(o.op).c_str(), o.gb_per_s, o.percent_of_ceiling);
        svg += strprintf("<text x=\"%d\" y=\"%d\" class=\"s\">%s %.1f GB/s</text>\n", width - right + 10,
                         top + 40 + 14 * int(b.threads.size() + 1) + 12 * row, html_escape(o.op).c_str(), o.gb_per_s);
        ++row;
    }
    svg += strprintf("<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-dasharray=\"2 2\"/>\n", px,
                     top + 26, px, height - bottom, kGenerationColour);
    svg += strprintf("<text x=\"%.1f\" y=\"%d\" class=\"s\" text-anchor=\"middle\" fill=\"%s\">generation working set "
                     "%s</text>\n",
                     std::min(px, double(width - right - 70)), top + 22, kGenerationColour,
                     html_escape(human_bytes(uint64_t(ws))).c_str());
    svg += "</svg>\n";
    return svg;
}

// GFLOP/s against FLOP per byte of weights, log-log, with the ladder's bandwidths as roofs.
std::string roofline_chart(const ProfileReport& r) {
    const int width = 720, height = 360, left = 60, right = 160, top = 30, bottom = 40;
    std::string svg = strprintf("<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n", width, height,
                                width, height);
    svg += "<title>Roofline of the matrix products</title>\n";
    svg += "<text x=\"0\" y=\"14\" class=\"h\">Roofline: matrix products (GFLOP/s against FLOP per byte read)</text>\n";
    struct Point {
        std::string label;
        double intensity, gflops;
        const char* colour;
    };
    std::vector<Point> points;
    for (const PhaseReport* p : {&r.prompt, &r.generation})
        for (const OpRow& o : p->ops)
            if (o.gflop_per_s > 0 && o.gb_per_s > 0)
                points.push_back({p->name + " " + o.op, o.gflop_per_s / o.gb_per_s, o.gflop_per_s,
                                  p == &r.prompt ? kPromptColour : kGenerationColour});
    if (points.empty()) return svg + "<text x=\"60\" y=\"60\">no matrix products timed</text>\n</svg>\n";
    double i_lo = 1e30, i_hi = 0, g_lo = 1e30, g_hi = 0;
    for (const Point& p : points) {
        i_lo = std::min(i_lo, p.intensity), i_hi = std::max(i_hi, p.intensity);
        g_lo = std::min(g_lo, p.gflops), g_hi = std::max(g_hi, p.gflops);
    }
    struct Roof {
        std::string label;
        double gb_per_s;
    };
    std::vector<Roof> roofs;
    const BandwidthReport& b = r.bandwidth;
    if (!b.ladder.empty()) {
        roofs.push_back({"L1-size read", b.ladder_at(b.ladder.front().bytes, r.threads)});
        if (const CacheLevel* l2 = r.caches.level(2))
            roofs.push_back({"L2-size read", b.ladder_at(l2->capacity_for_threads(r.threads) / 2, r.threads)});
    }
    roofs.push_back({"DRAM triad", b.triad(r.threads)});
    const double x_lo = std::floor(std::log10(i_lo / 2)), x_hi = std::ceil(std::log10(i_hi * 2));
    double y_top = g_hi;
    for (const Roof& f : roofs) y_top = std::max(y_top, std::min(f.gb_per_s * std::pow(10.0, x_hi), g_hi * 10));
    const double y_lo = std::floor(std::log10(std::max(g_lo / 2, 1e-3))), y_hi = std::ceil(std::log10(y_top * 1.5));
    const Axis x{x_lo, x_hi, left, width - right, true};
    const Axis y{y_lo, y_hi, height - bottom, top, true};
    svg += strprintf("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", left, height - bottom,
                     width - right, height - bottom);
    svg += strprintf("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", left, top, left, height - bottom);
    for (double e = x_lo; e <= x_hi; e += 1)
        svg += strprintf("<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"s\">%g</text>\n",
                         x.map(std::pow(10.0, e)), height - bottom + 14, std::pow(10.0, e));
    for (double e = y_lo; e <= y_hi; e += 1)
        svg += strprintf("<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"s\">%g</text>\n", left - 4,
                         y.map(std::pow(10.0, e)) + 3, std::pow(10.0, e));
    svg += strprintf("<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"s\">FLOP per byte of weights (log)</text>\n",
                     (left + width - right) / 2, height - 6);
    svg += "<g class=\"roof\">\n";
    int row = 0;
    for (const Roof& f : roofs) {
        if (f.gb_per_s <= 0) continue;
        // GFLOP/s = GB/s x intensity, clipped to the plot.
        const double a = std::pow(10.0, x_lo), z = std::pow(10.0, x_hi);
        const double ya = std::clamp(f.gb_per_s * a, std::pow(10.0, y_lo), std::pow(10.0, y_hi));
        const double yz = std::clamp(f.gb_per_s * z, std::pow(10.0, y_lo), std::pow(10.0, y_hi));
        svg += strprintf("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", x.map(ya / f.gb_per_s),
                         y.map(ya), x.map(yz / f.gb_per_s), y.map(yz), kThreadColours[row % 4]);
        svg += strprintf("<text x=\"%d\" y=\"%d\" fill=\"%s\" class=\"s\">%s %.0f GB/s</text>\n", width - right + 10,
                         top + 12 * row, kThreadColours[row % 4], html_escape(f.label).c_str(), f.gb_per_s);
        ++row;
    }
    svg += "</g>\n";
    for (const Point& p : points)
        svg += strprintf("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>%s: %.2f FLOP/B, %.1f "
                         "GFLOP/s</title></circle>\n",
                         x.map(p.intensity), y.map(p.gflops), p.colour, html_escape(p.label).c_str(), p.intensity,
                         p.gflops);
    svg += strprintf("<text x=\"%d\" y=\"%d\" fill=\"%s\" class=\"s\">prompt ops</text>\n", width - right + 10,
                     top + 12 * row + 12, kPromptColour);
    svg += strprintf("<text x=\"%d\" y=\"%d\" fill=\"%s\" class=\"s\">generation ops</text>\n", width - right + 10,
                     top + 12 * row + 24, kGenerationColour);
    svg += "</svg>\n";
    return svg;
}

std::string cell(const std::string& text) { return "<td>" + html_escape(text) + "</td>"; }
std::string num(const std::string& text) { return "<td class=\"n\">" + html_escape(text) + "</td>"; }

std::string phase_table(const PhaseReport& p, bool per_token) {
    std::string h = "<h3>" + html_escape(p.name == "prompt" ? "Prompt processing" : "Generation") + "</h3>\n";
    h += "<p>" + html_escape(strprintf("%lld tokens in %.2f ms, %.1f tok/s; working set %s in %s, ladder ceiling %.1f GB/s",
                                       static_cast<long long>(p.tokens), 1e3 * p.seconds, p.tok_per_s,
                                       human_bytes(p.working_set_bytes).c_str(), p.working_set_level.c_str(),
                                       p.ceiling_gb_per_s)) +
         "</p>\n";
    h += std::string("<table>\n<tr><th>op</th><th>share</th><th>ms</th><th>us/token</th><th>") +
         (per_token ? "weights/token" : "weights") + "</th><th>" + (per_token ? "KV/token" : "KV") +
         "</th><th>GB/s</th><th>GFLOP/s</th><th>% of ceiling</th><th>bound</th></tr>\n";
    const double divide = per_token && p.tokens > 0 ? double(p.tokens) : 1.0;
    for (const OpRow& o : p.ops) {
        const bool reads = o.weight_bytes + o.kv_bytes > 0;
        h += "<tr>" + cell(o.op) + num(strprintf("%.1f%%", 100 * o.share)) + num(strprintf("%.3f", 1e3 * o.seconds)) +
             num(strprintf("%.2f", o.us_per_token)) +
             num(o.weight_bytes ? human_bytes(uint64_t(double(o.weight_bytes) / divide)) : "-") +
             num(o.kv_bytes ? human_bytes(uint64_t(double(o.kv_bytes) / divide)) : "-") +
             num(reads ? strprintf("%.1f", o.gb_per_s) : "-") + num(reads ? strprintf("%.1f", o.gflop_per_s) : "-") +
             num(reads ? strprintf("%.0f%%", o.percent_of_ceiling) : "-") + cell(reads ? bound_name(o.bound) : "-") +
             "</tr>\n";
    }
    h += "</table>\n";
    return h;
}

}  // namespace

std::string html_escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string render_html(const ProfileReport& r) {
    std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    h += "<title>" + html_escape("dilmodeli profile: " + r.model_path) + "</title>\n";
    h += "<style>\n"
         "body{font-family:sans-serif;margin:24px;max-width:1000px;color:#222}\n"
         "table{border-collapse:collapse;margin:8px 0 16px}\n"
         "td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px}\n"
         "th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
         "svg{display:block;margin:12px 0;font-size:11px}svg .h{font-weight:bold;font-size:13px}\n"
         "svg .s{font-size:10px}svg .axis{stroke:#444}svg .cache{stroke:#999;stroke-dasharray:4 3}\n"
         ".roof line{stroke-width:1.5}.advice li{margin-bottom:6px}.ev{color:#666;font-size:12px}\n"
         "</style>\n</head>\n<body>\n";
    h += "<h1>dilmodeli profile</h1>\n";
    h += "<p>" +
         html_escape(strprintf("%s: %s, %lld layers, dim %lld, vocab %lld, %s file, %s of weights per token.",
                               r.model_path.c_str(), r.model_type.c_str(), static_cast<long long>(r.n_layers),
                               static_cast<long long>(r.n_embd), static_cast<long long>(r.n_vocab),
                               human_bytes(r.file_bytes).c_str(), human_bytes(r.weight_bytes_per_token).c_str())) +
         "<br>" +
         html_escape(strprintf("%d threads, batch %lld, KV %s, prompt %lld tokens (%s), %lld generated.", r.threads,
                               static_cast<long long>(r.batch), r.kv_type.c_str(), static_cast<long long>(r.n_prompt),
                               r.prompt_source.c_str(), static_cast<long long>(r.n_gen))) +
         "</p>\n";

    const Roofline& roof = r.roofline;
    h += "<h2>Summary</h2>\n<table>\n";
    auto row = [&](const std::string& k, const std::string& v) { h += "<tr><th>" + html_escape(k) + "</th>" + cell(v) + "</tr>\n"; };
    row("prompt processing", strprintf("%.1f tok/s", r.prompt.tok_per_s));
    row("generation", strprintf("%.1f tok/s", r.generation.tok_per_s));
    row("read per generated token",
        strprintf("%s weights + %s KV", human_bytes(r.weight_bytes_per_generated_token).c_str(),
                  human_bytes(r.kv_bytes_per_generated_token).c_str()));
    row("DRAM roofline", strprintf("triad %.1f GB/s allows %.0f tok/s; reached %.0f%%", roof.dram_gb_per_s,
                                   roof.tok_per_s_bound, roof.percent));
    row("roofline at the working set's level",
        strprintf("%s: %.1f GB/s allows %.0f tok/s; reached %.0f%%", roof.level.c_str(), roof.level_gb_per_s,
                  roof.level_tok_per_s_bound, roof.level_percent));
    row("hardware counters", r.hardware_counters ? "available" : "unavailable: " + r.hardware_counters_reason);
    h += "</table>\n";

    h += "<h2>Recommendations</h2>\n<ul class=\"advice\">\n";
    for (const Recommendation& a : r.recommendations)
        h += "<li><b>" + html_escape(a.topic) + "</b>: " + html_escape(a.advice) + "<br><span class=\"ev\">" +
             html_escape(a.evidence) + "</span></li>\n";
    h += "</ul>\n";

    h += "<h2>Where the time goes</h2>\n";
    std::vector<std::string> ops;
    for (const PhaseReport* p : {&r.prompt, &r.generation})
        for (const OpRow& o : p->ops)
            if (std::find(ops.begin(), ops.end(), o.op) == ops.end()) ops.push_back(o.op);
    auto shares = [&](const PhaseReport& p) {
        std::vector<double> v;
        for (const std::string& name : ops) {
            double s = 0;
            for (const OpRow& o : p.ops)
                if (o.op == name) s = o.share;
            v.push_back(s);
        }
        return v;
    };
    h += bar_chart("Share of time by op", ops,
                   {{"prompt", kPromptColour, shares(r.prompt)}, {"generation", kGenerationColour, shares(r.generation)}});
    std::vector<std::string> layers;
    std::vector<double> prompt_layers, gen_layers;
    for (size_t i = 0; i < r.generation.layers.size(); ++i) {
        const int64_t l = r.generation.layers[i].layer;
        layers.push_back(l == -1 ? "outside blocks" : l == -2 ? "untimed" : "layer " + std::to_string(l));
        gen_layers.push_back(r.generation.layers[i].share);
        prompt_layers.push_back(i < r.prompt.layers.size() ? r.prompt.layers[i].share : 0);
    }
    h += bar_chart("Share of time by layer", layers,
                   {{"prompt", kPromptColour, prompt_layers}, {"generation", kGenerationColour, gen_layers}});
    h += phase_table(r.prompt, false);
    h += phase_table(r.generation, true);

    h += "<h2>Memory hierarchy</h2>\n";
    h += ladder_chart(r);
    h += roofline_chart(r);
    h += "<table>\n<tr><th>cache</th><th>kind</th><th>size</th><th>line</th><th>shared by</th><th>instances</th></tr>\n";
    for (const CacheLevel& c : r.caches.levels)
        h += "<tr>" + cell(c.name()) + cell(c.kind) +
             num(human_bytes(c.size_bytes) + (c.measured_bytes ? " (ladder: " + human_bytes(c.measured_bytes) + ")" : "")) +
             num(std::to_string(c.line_bytes)) +
             num(std::to_string(c.shared_by)) + num(std::to_string(c.instances)) + "</tr>\n";
    h += "</table>\n<p>" + html_escape("Caches as reported by " + r.caches.source + ".") + "</p>\n";
    h += "<table>\n<tr><th>GB/s (median)</th>";
    for (int t : r.bandwidth.threads) h += "<th>" + html_escape(strprintf("%d thread%s", t, t == 1 ? "" : "s")) + "</th>";
    h += "</tr>\n<tr><th>triad</th>";
    for (const StreamFigures& s : r.bandwidth.stream) h += num(strprintf("%.1f", s.triad_gb_per_s));
    h += "</tr>\n<tr><th>read</th>";
    for (const StreamFigures& s : r.bandwidth.stream) h += num(strprintf("%.1f", s.read_gb_per_s));
    h += "</tr>\n";
    for (const LadderPoint& p : r.bandwidth.ladder) {
        h += "<tr><th>" + html_escape("read " + human_bytes(p.bytes)) + "</th>";
        for (double v : p.gb_per_s) h += num(strprintf("%.1f", v));
        h += "</tr>\n";
    }
    h += "</table>\n";

    h += "<h2>Where tensors fit</h2>\n<table>\n<tr><th>tensor</th><th>type</th><th>bytes</th><th>fits in</th></tr>\n";
    for (const TensorPlacement& t : r.placement)
        h += "<tr>" + cell(t.tensor) + cell(t.type) + num(human_bytes(t.bytes)) + cell(t.fits_in) + "</tr>\n";
    h += "</table>\n";

    h += "<h2>Counters</h2>\n<table>\n<tr><th>counter</th><th>prompt</th><th>generation</th></tr>\n";
    for (const CounterReading& c : r.prompt.counters.readings) {
        const CounterReading* g = r.generation.counters.find(c.name);
        auto show = [](const CounterReading* x) {
            return x && x->value ? strprintf("%.0f", *x->value) : "unavailable";
        };
        h += "<tr>" + cell(c.name) + num(show(&c)) + num(show(g)) + "</tr>\n";
    }
    h += "</table>\n";
    if (!r.thread_scaling.empty()) {
        h += "<h2>Threads</h2>\n<table>\n<tr><th>threads</th><th>prompt tok/s</th><th>generation tok/s</th></tr>\n";
        for (const ThreadScaling& s : r.thread_scaling)
            h += "<tr>" + num(std::to_string(s.threads)) + num(strprintf("%.1f", s.pp_tok_per_s)) +
                 num(strprintf("%.1f", s.tg_tok_per_s)) + "</tr>\n";
        h += "</table>\n";
    }
    h += "<p>" + html_escape(strprintf("Peak RSS %.1f MiB; the profile took %.1f s.", r.peak_rss_mib, r.seconds)) +
         "</p>\n</body>\n</html>\n";
    return h;
}

}  // namespace dilmodeli::profile
