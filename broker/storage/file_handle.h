// An open file descriptor, closed when the last shared owner lets go. Reads hand out
// shared_ptr<const file_handle> so a byte range stays readable (pread, sendfile) after the
// segment it came from is deleted by retention or closed by the open-segment limit.
// pread/pwrite/sync are safe from any thread (the kernel orders them); the handle is immutable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "common/errc.h"

namespace gregor::storage {

class file_handle {
public:
    // Opens `path` read-write, creating it when `create`. Failure: kafka_storage_error with
    // the path and strerror.
    static result<std::shared_ptr<file_handle>> open(const std::filesystem::path& path, bool create);
    // Opens read-only (for tools that must never write).
    static result<std::shared_ptr<file_handle>> open_read_only(const std::filesystem::path& path);

    ~file_handle();
    file_handle(const file_handle&) = delete;
    file_handle& operator=(const file_handle&) = delete;

    int fd() const noexcept { return fd_; }
    const std::filesystem::path& path() const noexcept { return path_; }

    // Reads up to out.size() bytes at `pos`; returns the count read (short only at end of file).
    result<size_t> read_at(uint64_t pos, std::span<std::byte> out) const;
    // Writes all of `data` at `pos`.
    status write_at(uint64_t pos, std::span<const std::byte> data) const;
    status truncate(uint64_t size) const;
    // fdatasync: data and the size, not the timestamps.
    status sync() const;
    result<uint64_t> size() const;

private:
    file_handle(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
    status io_error(const char* op) const;

    int fd_;
    std::filesystem::path path_;
};

// Writes `data` to `path` so that a crash leaves either the old or the new contents: a
// temporary file, fsync, rename over, fsync of the directory.
status write_file_atomically(const std::filesystem::path& path, std::span<const std::byte> data);

// fsync of a directory, so that file creations, renames and deletions in it are durable.
status sync_directory(const std::filesystem::path& dir);

}  // namespace gregor::storage
