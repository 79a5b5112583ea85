#include "broker/storage/file_handle.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gregor::storage {
namespace {

status errno_status(const char* op, const std::filesystem::path& path, int err) {
    return {errc::kafka_storage_error,
            std::string(op) + " " + path.string() + ": " + std::strerror(err)};
}

}  // namespace

result<std::shared_ptr<file_handle>> file_handle::open(const std::filesystem::path& path, bool create) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0) return errno_status("open", path, errno);
    return std::shared_ptr<file_handle>(new file_handle(fd, path));
}

result<std::shared_ptr<file_handle>> file_handle::open_read_only(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_status("open", path, errno);
    return std::shared_ptr<file_handle>(new file_handle(fd, path));
}

file_handle::~file_handle() { ::close(fd_); }

status file_handle::io_error(const char* op) const { return errno_status(op, path_, errno); }

result<size_t> file_handle::read_at(uint64_t pos, std::span<std::byte> out) const {
    size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(pos + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return io_error("read");
        }
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    return done;
}

status file_handle::write_at(uint64_t pos, std::span<const std::byte> data) const {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(pos + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return io_error("write");
        }
        done += static_cast<size_t>(n);
    }
    return {};
}

status file_handle::truncate(uint64_t size) const {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return io_error("truncate");
    return {};
}

status file_handle::sync() const {
    if (::fdatasync(fd_) != 0) return io_error("fsync");
    return {};
}

result<uint64_t> file_handle::size() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return io_error("stat");
    return static_cast<uint64_t>(st.st_size);
}

status write_file_atomically(const std::filesystem::path& path, std::span<const std::byte> data) {
    auto tmp = path;
    tmp += ".tmp";
    {
        auto f = file_handle::open(tmp, true);
        if (!f) return f.error();
        if (auto s = (*f)->truncate(0); !s.ok()) return s;
        if (auto s = (*f)->write_at(0, data); !s.ok()) return s;
        if (auto s = (*f)->sync(); !s.ok()) return s;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) return errno_status("rename", tmp, errno);
    return sync_directory(path.parent_path());
}

status sync_directory(const std::filesystem::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_status("open", dir, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return errno_status("fsync", dir, err);
    return {};
}

}  // namespace gregor::storage
