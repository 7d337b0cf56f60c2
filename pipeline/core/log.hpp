#pragma once
// Logging and progress for every command (issue 10). Log lines go to stderr through spdlog;
// `nightly` (and any command given --log FILE) adds timestamps and appends to a file. The
// progress bar follows GDAL's GDALTermProgress style (0...10...20... with an ETA) and appears only
// when stderr is a terminal and the level is info or more verbose, so cron and CI logs stay clean.
#include <filesystem>
#include <string>

#include <cpl_progress.h>

namespace weipian {

struct LogOptions {
    bool verbose = false;            // debug level
    bool quiet = false;              // warnings and errors only
    bool timestamps = false;         // "2026-12-02T01:00:03+08:00 info …" (local time, its offset)
    std::filesystem::path log_file;  // appended to (with timestamps) when set
};

// (Re)configures the process's default logger. Throws InputError when the log file cannot be
// opened for appending (naming it).
void configure_logging(const LogOptions& options);
const LogOptions& logging_options();

// Appends `line` at level error to the --log file alone (timestamped like every file line) when
// one is configured; does nothing otherwise. For the "weipian: error: …" line that main.cpp
// prints to stderr itself, so that the file holds why a night failed.
void log_to_file_only(const std::string& line);

// A progress bar on stderr when it is a terminal (and logging is not quiet); otherwise silent.
// Usable as a GDALProgressFunc: pass progress_callback and the object as pData.
class TermProgress {
public:
    explicit TermProgress(std::string label);
    ~TermProgress();  // ends the line when something was drawn
    bool enabled() const { return enabled_; }
    void update(double fraction);  // 0..1, monotone
    static int CPL_STDCALL callback(double fraction, const char* message, void* self);
    // Tests only: draw whether or not stderr is a terminal (weipian itself never calls it).
    void force_enabled_for_test() { enabled_ = true; }

private:
    std::string label_;
    bool enabled_ = false;
    double started_ = 0;
    int last_tenth_ = -1;
    int last_width_ = 0;
};

}  // namespace weipian
