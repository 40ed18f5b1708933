#include "core/events/dead_letter.h"

#include "core/error.h"
#include "core/events/outbox.h"

namespace cellfleet::events {

namespace {
constexpr std::string_view kAllDeadLetters = "deadletters";
}

std::string dead_letter_partition(const std::string& subscriber) {
  return "deadletter#" + subscriber;
}

storage::Item dead_letter_item(const DeadLetter& letter) {
  return {{"pk", dead_letter_partition(letter.subscriber)},
          {"sk", letter.event.id},
          {"gsi1pk", std::string(kAllDeadLetters)},
          {"gsi1sk", letter.event.id + "#" + letter.subscriber},
          {"subscriber", letter.subscriber},
          {"event", letter.event},
          {"error", letter.error},
          {"attempts", letter.attempts},
          {"failed_at", letter.failed_at}};
}

DeadLetter dead_letter_from_item(const storage::Item& item) {
  DeadLetter letter;
  letter.subscriber = item.at("subscriber").get<std::string>();
  letter.event = item.at("event").get<Event>();
  letter.error = item.value("error", std::string());
  letter.attempts = item.value("attempts", 0);
  letter.failed_at = item.value("failed_at", std::int64_t{0});
  return letter;
}

DeadLetterPage list_dead_letters(storage::Store& store,
                                 const std::optional<std::string>& subscriber, std::size_t limit,
                                 const std::string& cursor) {
  storage::Query query;
  query.table = std::string(kEventsTable);
  if (subscriber) {
    query.partition = dead_letter_partition(*subscriber);
  } else {
    query.index = "gsi1";
    query.partition = std::string(kAllDeadLetters);
  }
  query.limit = limit;
  query.cursor = cursor;
  const storage::Page page = store.query(query);
  DeadLetterPage out;
  out.next_cursor = page.next_cursor;
  out.items.reserve(page.items.size());
  for (const auto& item : page.items) out.items.push_back(dead_letter_from_item(item));
  return out;
}

void requeue_dead_letter(storage::Store& store, const std::string& subscriber,
                         const std::string& event_id) {
  const std::string table(kEventsTable);
  const storage::Key key{dead_letter_partition(subscriber), event_id};
  const auto item = store.get(table, key);
  if (!item) throw not_found("no dead letter of " + subscriber + " for event " + event_id);
  const DeadLetter letter = dead_letter_from_item(*item);
  try {
    store.write(
        {{storage::Delete{table, key, storage::Condition::must_exist()},
          storage::Put{table, outbox_item(letter.event, subscriber), storage::Condition::none()}}});
  } catch (const storage::ConditionFailed&) {
    // Re-queued (or deleted) by someone else since the get.
    throw not_found("no dead letter of " + subscriber + " for event " + event_id);
  }
}

}  // namespace cellfleet::events
