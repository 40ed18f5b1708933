#pragma once
// Builds the placeholders of a DynamoDB expression. Every attribute name goes through a "#n"
// placeholder (item attributes may be reserved words such as "name" or "status", or contain
// characters an expression cannot spell), and every value through a ":v" one. DynamoDB rejects
// placeholders an expression does not use, so only those asked for are emitted.

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace cellfleet::storage::dynamodb {

class ExpressionBuilder {
 public:
  // The placeholder for an attribute name; the same name gets the same placeholder.
  std::string name(const std::string& attribute) {
    auto [it, inserted] = names_.try_emplace(attribute, "");
    if (inserted) it->second = "#n" + std::to_string(names_.size() - 1);
    return it->second;
  }

  // A fresh placeholder for an attribute value (in DynamoDB's {"S": ...} form).
  std::string value(nlohmann::json attribute_value) {
    std::string placeholder = ":v" + std::to_string(values_.size());
    values_[placeholder] = std::move(attribute_value);
    return placeholder;
  }

  // Adds ExpressionAttributeNames/Values to request, when there are any.
  void attach(nlohmann::json& request) const {
    if (!names_.empty()) {
      nlohmann::json names = nlohmann::json::object();
      for (const auto& [attribute, placeholder] : names_) names[placeholder] = attribute;
      request["ExpressionAttributeNames"] = std::move(names);
    }
    if (!values_.empty()) request["ExpressionAttributeValues"] = values_;
  }

 private:
  std::map<std::string, std::string> names_;
  nlohmann::json values_ = nlohmann::json::object();
};

}  // namespace cellfleet::storage::dynamodb
