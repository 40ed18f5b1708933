#include "files_sink.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include <nlohmann/json.hpp>

namespace cellfleet::warehouse {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, const fs::path& path) {
  throw std::runtime_error("warehouse: " + what + " " + path.string() + ": " +
                           std::strerror(errno));
}

void fsync_path(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) fail("cannot open", path);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) fail("cannot fsync", path);
}

// Writes data to path atomically and durably: a temporary file, fsync, rename, fsync of the
// directory (so the rename itself survives a power cut).
void write_durably(const fs::path& path, const std::string& data) {
  fs::create_directories(path.parent_path());
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create", tmp);
  std::size_t done = 0;
  while (done < data.size()) {
    const auto n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      fail("cannot write", tmp);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    fail("cannot fsync", tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename", tmp);
  fsync_path(path.parent_path(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

}  // namespace

std::string gzip(const std::string& data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("warehouse: deflateInit2 failed");
  }
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("warehouse: gzip failed");
  return out;
}

FilesSink::FilesSink(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw std::runtime_error("warehouse: cannot create " + dir_ + ": " + ec.message());
}

Checkpoints FilesSink::checkpoints() {
  if (loaded_) return checkpoints_;
  std::ifstream in(fs::path(dir_) / "_checkpoint.json");
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    const auto stored = nlohmann::json::parse(text.str());
    for (auto it = stored.begin(); it != stored.end(); ++it) {
      checkpoints_[it.key()] = it.value().get<std::string>();
    }
  }
  loaded_ = true;
  return checkpoints_;
}

void FilesSink::write(const Batch& batch) {
  // One file per (table, org, date): the rows in the order the batch holds them.
  std::map<std::tuple<std::string, std::string, std::string>, std::string> files;
  for (const auto& row : batch.rows) {
    files[{row.table, row.org_id, row.date_key}] += row.values.dump() + "\n";
  }
  for (const auto& [partition, lines] : files) {
    const auto& [table, org, date] = partition;
    write_durably(fs::path(dir_) / ("table=" + table) / ("org=" + org) / ("date=" + date) /
                      ("part-" + batch.part + ".ndjson.gz"),
                  gzip(lines));
  }
  if (batch.checkpoints.empty()) return;
  checkpoints();
  for (const auto& [source, position] : batch.checkpoints) checkpoints_[source] = position;
  if (++unsaved_ >= 256) flush();
}

void FilesSink::flush() {
  if (unsaved_ == 0) return;
  write_durably(fs::path(dir_) / "_checkpoint.json", nlohmann::json(checkpoints_).dump(1) + "\n");
  unsaved_ = 0;
}

}  // namespace cellfleet::warehouse
