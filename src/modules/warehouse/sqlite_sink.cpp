#include "sqlite_sink.h"

#include <sqlite3.h>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

namespace cellfleet::warehouse {

namespace {

std::string create_table_sql(const TableDef& t) {
  std::string sql = "CREATE TABLE IF NOT EXISTS " + t.name + " (";
  for (const auto& c : t.columns) sql += c.name + " " + c.type + ", ";
  sql += "PRIMARY KEY (";
  for (std::size_t i = 0; i < t.primary_key.size(); ++i) {
    sql += (i ? ", " : "") + t.primary_key[i];
  }
  return sql + ")) WITHOUT ROWID";
}

// Facts are never changed once stored (INSERT OR IGNORE: a re-export is a no-op); dimensions are
// type 1, the newest version replacing the stored one.
std::string insert_sql(const TableDef& t) {
  std::string sql = std::string(t.dimension ? "INSERT OR REPLACE" : "INSERT OR IGNORE") + " INTO " +
                    t.name + " (";
  std::string params;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    sql += (i ? ", " : "") + t.columns[i].name;
    params += i ? ", ?" : "?";
  }
  return sql + ") VALUES (" + params + ")";
}

// dim_date's row for a date key; nullopt when the key is not a date.
std::optional<Row> date_row(const std::string& key) {
  if (key.size() != 10) return std::nullopt;
  try {
    const std::chrono::year_month_day d{std::chrono::year(std::stoi(key.substr(0, 4))),
                                        std::chrono::month(std::stoul(key.substr(5, 2))),
                                        std::chrono::day(std::stoul(key.substr(8, 2)))};
    if (!d.ok()) return std::nullopt;
    const std::chrono::weekday wd{std::chrono::sys_days(d)};
    Row row{"dim_date", "", key, {}};
    row.values = {{"date_key", key},
                  {"year", static_cast<int>(d.year())},
                  {"month", static_cast<unsigned>(d.month())},
                  {"day", static_cast<unsigned>(d.day())},
                  {"year_month", key.substr(0, 7)},
                  {"iso_weekday", wd.iso_encoding()}};
    return row;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

struct SqliteSink::Statements {
  std::map<std::string, sqlite3_stmt*> insert;  // by table
  sqlite3_stmt* checkpoint = nullptr;
  ~Statements() {
    for (auto& [name, s] : insert) sqlite3_finalize(s);
    sqlite3_finalize(checkpoint);
  }
};

SqliteSink::SqliteSink(const std::string& path) : statements_(std::make_unique<Statements>()) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string error = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("warehouse: cannot open " + path + ": " + error);
  }
  sqlite3_busy_timeout(db_, 10000);
  // WAL lets an analyst's sqlite3 read while an export writes; FULL makes each committed batch
  // (rows and checkpoint) survive a power cut, not only a crash of the process.
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  for (const auto& t : table_defs()) exec(create_table_sql(t));
  exec(
      "CREATE TABLE IF NOT EXISTS warehouse_checkpoint (source TEXT PRIMARY KEY, position TEXT "
      "NOT NULL, updated_at TEXT NOT NULL)");
  for (const auto& t : table_defs()) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, insert_sql(t).c_str(), -1, &s, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("warehouse: ") + sqlite3_errmsg(db_));
    }
    statements_->insert[t.name] = s;
  }
  if (sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO warehouse_checkpoint (source, position, "
                         "updated_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
                         -1, &statements_->checkpoint, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("warehouse: ") + sqlite3_errmsg(db_));
  }
}

SqliteSink::~SqliteSink() {
  statements_.reset();
  sqlite3_close(db_);
}

void SqliteSink::exec(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw std::runtime_error("warehouse: " + message + " (" + sql.substr(0, 60) + ")");
  }
}

Checkpoints SqliteSink::checkpoints() {
  Checkpoints out;
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db_, "SELECT source, position FROM warehouse_checkpoint", -1, &s, nullptr);
  while (sqlite3_step(s) == SQLITE_ROW) {
    out[reinterpret_cast<const char*>(sqlite3_column_text(s, 0))] =
        reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
  }
  sqlite3_finalize(s);
  return out;
}

void SqliteSink::write(const Batch& batch) {
  auto step = [this](sqlite3_stmt* s) {
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE)
      throw std::runtime_error(std::string("warehouse: ") + sqlite3_errmsg(db_));
  };
  auto insert = [&](const Row& row) {
    const auto& def = table_def(row.table);
    sqlite3_stmt* s = statements_->insert.at(row.table);
    for (std::size_t i = 0; i < def.columns.size(); ++i) {
      const int index = static_cast<int>(i + 1);
      auto it = row.values.find(def.columns[i].name);
      if (it == row.values.end() || it->is_null()) {
        sqlite3_bind_null(s, index);
      } else if (it->is_number_integer()) {
        sqlite3_bind_int64(s, index, it->get<std::int64_t>());
      } else {
        const std::string text = it->is_string() ? it->get<std::string>() : it->dump();
        sqlite3_bind_text(s, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
      }
    }
    step(s);
  };

  exec("BEGIN IMMEDIATE");
  try {
    std::set<std::string> dates;
    for (const auto& row : batch.rows) {
      insert(row);
      if (!table_def(row.table).dimension) dates.insert(row.date_key);
    }
    for (const auto& key : dates) {
      if (auto row = date_row(key)) insert(*row);
    }
    for (const auto& [source, position] : batch.checkpoints) {
      sqlite3_bind_text(statements_->checkpoint, 1, source.data(), static_cast<int>(source.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_text(statements_->checkpoint, 2, position.data(),
                        static_cast<int>(position.size()), SQLITE_TRANSIENT);
      step(statements_->checkpoint);
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

}  // namespace cellfleet::warehouse
