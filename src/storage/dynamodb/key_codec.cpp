#include "storage/dynamodb/key_codec.h"

namespace cellfleet::storage::dynamodb {
namespace {

using Op = SortCondition::Op;

bool is_index_sort_key(const TableSpec& table, std::string_view name) {
  for (const auto& index : table.indexes) {
    if (name == index.sort_key) return true;
  }
  return false;
}

std::string prefixed(std::string_view value) {
  return std::string(kKeyPrefix) + std::string(value);
}

}  // namespace

bool is_prefixed_key_attribute(const TableSpec& table, std::string_view name) {
  if (name == "sk") return true;
  for (const auto& index : table.indexes) {
    if (name == index.partition_key || name == index.sort_key) return true;
  }
  return false;
}

std::string non_string_key_name(std::string_view name) {
  return prefixed(name);
}

std::string stored_key_string(const TableSpec& table, std::string_view name, std::string_view value,
                              const Key& key) {
  if (!is_prefixed_key_attribute(table, name)) return std::string(value);
  if (!is_index_sort_key(table, name)) return prefixed(value);
  for (unsigned char c : value) {
    if (c <= static_cast<unsigned char>(kTie)) {
      throw InvalidRequest("index sort key '" + std::string(name) +
                           "' may not hold the control characters U+0000 or U+0001");
    }
  }
  return prefixed(value) + kTie + key.pk + kTie + key.sk;
}

std::string stored_partition(const TableSpec& table, std::string_view name,
                             std::string_view value) {
  return is_prefixed_key_attribute(table, name) ? prefixed(value) : std::string(value);
}

std::string logical_key_string(const TableSpec& table, std::string_view name,
                               std::string_view stored) {
  if (!is_prefixed_key_attribute(table, name)) return std::string(stored);
  if (stored.starts_with(kKeyPrefix)) stored.remove_prefix(kKeyPrefix.size());
  if (is_index_sort_key(table, name)) stored = stored.substr(0, stored.find(kTie));
  return std::string(stored);
}

SortCondition stored_sort_condition(const TableSpec& table, std::string_view attribute,
                                    const SortCondition& c) {
  if (!is_index_sort_key(table, attribute)) {
    return {c.op, prefixed(c.value), c.op == Op::between ? prefixed(c.upper) : ""};
  }
  // Stored values are v + kTie + ...; "v + kTie + 1" is above every stored value whose index sort
  // key is v and below those whose key is greater than v.
  const auto just_above = [](std::string_view v) {
    return prefixed(v) + static_cast<char>(kTie + 1);
  };
  switch (c.op) {
    case Op::eq:
      return {Op::begins_with, prefixed(c.value) + kTie, ""};
    case Op::begins_with:
      return {Op::begins_with, prefixed(c.value), ""};
    case Op::between:
      return {Op::between, prefixed(c.value), just_above(c.upper)};
    case Op::lt:
      return {Op::lt, prefixed(c.value), ""};
    case Op::le:
      return {Op::lt, just_above(c.value), ""};
    case Op::gt:
      return {Op::ge, just_above(c.value), ""};
    case Op::ge:
      return {Op::ge, prefixed(c.value), ""};
  }
  return c;
}

}  // namespace cellfleet::storage::dynamodb
