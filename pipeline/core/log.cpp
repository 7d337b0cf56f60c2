#include "pipeline/core/log.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "pipeline/core/errors.hpp"

namespace weipian {
namespace {

LogOptions& current() {
    static LogOptions options;
    return options;
}

std::shared_ptr<spdlog::logger>& file_only() {
    static std::shared_ptr<spdlog::logger> logger;
    return logger;
}

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

void configure_logging(const LogOptions& options) {
    std::vector<spdlog::sink_ptr> sinks;
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    // Local time with its offset: what a county's operator reads in cron mail and journald.
    console->set_pattern(options.timestamps ? "%Y-%m-%dT%H:%M:%S%z %^%l%$ %v" : "%^%l%$ %v");
    sinks.push_back(console);
    if (!options.log_file.empty()) {
        std::shared_ptr<spdlog::sinks::basic_file_sink_mt> file;
        try {
            file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.log_file.string(), false);
        } catch (const spdlog::spdlog_ex& e) {
            throw InputError("--log '" + options.log_file.string() + "': cannot open it for appending (" + e.what() +
                             "); give a file in a writable folder");
        }
        file->set_pattern("%Y-%m-%dT%H:%M:%S%z %l %v");
        sinks.push_back(file);
        file_only() = std::make_shared<spdlog::logger>("weipian-file", file);
        file_only()->flush_on(spdlog::level::err);
    } else {
        file_only().reset();
    }
    auto logger = std::make_shared<spdlog::logger>("weipian", sinks.begin(), sinks.end());
    const auto level = options.verbose ? spdlog::level::debug : options.quiet ? spdlog::level::warn : spdlog::level::info;
    logger->set_level(level);
    logger->flush_on(spdlog::level::info);  // a killed night leaves its log complete up to the kill
    spdlog::set_default_logger(logger);
    current() = options;
}

const LogOptions& logging_options() { return current(); }

void log_to_file_only(const std::string& line) {
    if (file_only()) file_only()->error("{}", line);
}

TermProgress::TermProgress(std::string label) : label_(std::move(label)) {
    enabled_ = ::isatty(STDERR_FILENO) == 1 && !current().quiet;
    started_ = now_seconds();
}

TermProgress::~TermProgress() {
    if (enabled_ && last_tenth_ >= 0) std::fputc('\n', stderr);
}

void TermProgress::update(double fraction) {
    if (!enabled_) return;
    fraction = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
    // GDALTermProgress's line: "label 0...10...20...30" growing by 2.5 % dots, then the ETA.
    const int ticks = static_cast<int>(fraction * 40.0);
    if (ticks == last_tenth_) return;
    last_tenth_ = ticks;
    std::string bar;
    for (int t = 0; t <= ticks; ++t) bar += (t % 4 == 0) ? std::to_string(t / 4 * 10) : ".";
    const double elapsed = now_seconds() - started_;
    char eta[48] = "";
    if (fraction > 0.02 && fraction < 1) {
        const int left = static_cast<int>(elapsed * (1 - fraction) / fraction + 0.5);
        std::snprintf(eta, sizeof eta, "  ETA %d:%02d", left / 60, left % 60);
    } else if (fraction >= 1) {
        std::snprintf(eta, sizeof eta, " - done in %.0f s", elapsed);
    }
    std::string line = "\r" + label_ + " " + bar + eta;
    const int width = static_cast<int>(line.size());
    if (width < last_width_) line += std::string(static_cast<std::size_t>(last_width_ - width), ' ');
    last_width_ = width;
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
}

int CPL_STDCALL TermProgress::callback(double fraction, const char*, void* self) {
    if (self) static_cast<TermProgress*>(self)->update(fraction);
    return TRUE;
}

}  // namespace weipian
