#include "storage/sqlite/query_sql.h"

namespace cellfleet::storage::sqlite {

std::optional<std::string> prefix_upper_bound(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

namespace {

class Builder {
 public:
  void add(std::string clause) {
    where_ += where_.empty() ? " WHERE " : " AND ";
    where_ += clause;
  }
  std::string param(std::variant<std::string, std::int64_t> value) {
    binds_.push_back(std::move(value));
    return "?" + std::to_string(binds_.size());
  }
  std::string where() const { return where_; }
  std::vector<std::variant<std::string, std::int64_t>> take_binds() { return std::move(binds_); }

 private:
  std::string where_;
  std::vector<std::variant<std::string, std::int64_t>> binds_;
};

void add_sort_condition(Builder& b, const std::string& column, const SortCondition& sort) {
  using Op = SortCondition::Op;
  switch (sort.op) {
    case Op::eq:
      b.add(column + " = " + b.param(sort.value));
      break;
    case Op::lt:
      b.add(column + " < " + b.param(sort.value));
      break;
    case Op::le:
      b.add(column + " <= " + b.param(sort.value));
      break;
    case Op::gt:
      b.add(column + " > " + b.param(sort.value));
      break;
    case Op::ge:
      b.add(column + " >= " + b.param(sort.value));
      break;
    case Op::between:
      b.add(column + " >= " + b.param(sort.value));
      b.add(column + " <= " + b.param(sort.upper));
      break;
    case Op::begins_with:
      // A range instead of LIKE/GLOB: those treat % _ * as wildcards and may fold case, while a
      // byte range on the index is exact and uses the index.
      b.add(column + " >= " + b.param(sort.value));
      if (auto upper = prefix_upper_bound(sort.value)) b.add(column + " < " + b.param(*upper));
      break;
  }
}

}  // namespace

SqlQuery build_query_sql(const TableSpec& table, const IndexSpec* index, const Query& query,
                         const std::optional<CursorPosition>& after, std::int64_t now) {
  const std::string partition_column = index ? index->partition_key : "pk";
  const std::string sort_column = index ? index->sort_key : "sk";
  const std::string direction = query.forward ? " ASC" : " DESC";
  const std::string beyond = query.forward ? " > " : " < ";

  Builder b;
  b.add(partition_column + " = " + b.param(query.partition));
  if (query.sort) add_sort_condition(b, sort_column, *query.sort);
  if (after && index) {
    // Index sort keys repeat across items; (pk, sk) breaks the tie, matching the index order.
    const auto isk = b.param(*after->index_sort);
    const auto pk = b.param(after->key.pk);
    const auto sk = b.param(after->key.sk);
    b.add("(" + sort_column + ", pk, sk)" + beyond + "(" + isk + ", " + pk + ", " + sk + ")");
  } else if (after) {
    b.add("sk" + beyond + b.param(after->key.sk));
  }
  if (!table.ttl_attribute.empty()) {
    b.add("(" + table.ttl_attribute + " IS NULL OR " + table.ttl_attribute + " > " + b.param(now) +
          ")");
  }

  std::string order = " ORDER BY " + sort_column + direction;
  if (index) order += ", pk" + direction + ", sk" + direction;
  const auto limit = b.param(static_cast<std::int64_t>(query.limit) + 1);

  SqlQuery result;
  result.sql = "SELECT body FROM " + table.name + b.where() + order + " LIMIT " + limit;
  result.binds = b.take_binds();
  return result;
}

}  // namespace cellfleet::storage::sqlite
