#pragma once
// A full disk, in process: runs a piece of weipian in a forked child whose files may not grow
// beyond a given size (RLIMIT_FSIZE, SIGXFSZ ignored, so a write fails with EFBIG as it does on a
// full disk), and reports what it threw. The setup before the call (folders, staged files) is
// done by the parent, without the limit. For the CLI, tests/app/output_safety_test.cpp runs the
// binary under `ulimit -f` instead.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "pipeline/core/errors.hpp"

namespace weipian::test {

struct Thrown {
    int exit_code = 0;    // the weipian::Error's exit code; 0 when nothing was thrown, -1 for another exception
    std::string message;  // its what()
};

// Runs `f` with files limited to `bytes` bytes in a child process and returns what it threw.
template <typename F>
Thrown on_full_disk(rlim_t bytes, F&& f) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) return {-2, "pipe failed"};
    const pid_t child = ::fork();
    if (child == 0) {
        ::close(pipe_fds[0]);
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{bytes, bytes};
        ::setrlimit(RLIMIT_FSIZE, &limit);
        std::string report = "0|";
        try {
            f();
        } catch (const Error& e) {
            report = std::to_string(e.exit_code()) + "|" + e.what();
        } catch (const std::exception& e) {
            report = std::string("-1|") + e.what();
        }
        [[maybe_unused]] const auto written = ::write(pipe_fds[1], report.data(), report.size());
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::string report;
    char buffer[4096];
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) report.append(buffer, static_cast<std::size_t>(n));
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    const auto bar = report.find('|');
    if (bar == std::string::npos) return {-3, "the child reported nothing (status " + std::to_string(status) + ")"};
    return {std::stoi(report.substr(0, bar)), report.substr(bar + 1)};
}

}  // namespace weipian::test
