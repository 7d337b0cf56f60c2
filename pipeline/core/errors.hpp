#pragma once
// The kinds of failure weipian reports. Each message is one line that names the stage,
// quotes the file, key or value, and says what to do; the CLI prints it and exits non-zero.
#include <stdexcept>
#include <string>

namespace weipian {

// Base of every error weipian reports to a user.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    // Process exit code for this kind of error.
    virtual int exit_code() const noexcept { return 1; }
};

// A configuration file, key or value is wrong (unknown key, out of range, wrong type).
class ConfigError : public Error {
public:
    using Error::Error;
    int exit_code() const noexcept override { return 2; }
};

// An input file is missing, unreadable, or unusable (no CRS, no overlap, missing field).
class InputError : public Error {
public:
    using Error::Error;
    int exit_code() const noexcept override { return 3; }
};

// The inputs were read, but no pixel has data in both epochs (inside the overlap and the AOI):
// all nodata, fully transparent (alpha 0), or an AOI over a gap. Not "nothing found".
class NoValidPixelsError : public Error {
public:
    using Error::Error;
    int exit_code() const noexcept override { return 4; }
};

// A broken invariant inside weipian: a bug to report, not a user mistake.
class InternalError : public Error {
public:
    using Error::Error;
    int exit_code() const noexcept override { return 70; }
};

}  // namespace weipian
