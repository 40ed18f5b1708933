#pragma once
// An event a subscriber could not apply after its attempts ran out. Kept (without expiry) in
//   pk "deadletter#<subscriber>", sk <event id>, also in gsi1 under "deadletters" for listing
// across subscribers, until an operator re-queues it (Dispatcher::retry_dead_letter). These
// partitions, like the outbox's, are the platform's and not an organization's: the event inside
// names its organization.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/events/event.h"
#include "storage/store.h"

namespace cellfleet::events {

struct DeadLetter {
  std::string subscriber;
  Event event;
  std::string error;  // what the last attempt threw
  int attempts = 0;
  std::int64_t failed_at = 0;  // epoch milliseconds of the last attempt
};

struct DeadLetterPage {
  std::vector<DeadLetter> items;  // by event id (then subscriber)
  std::string next_cursor;        // "" on the last page
};

std::string dead_letter_partition(const std::string& subscriber);  // "deadletter#<subscriber>"
storage::Item dead_letter_item(const DeadLetter& letter);
DeadLetter dead_letter_from_item(const storage::Item& item);

// One page of dead letters of one subscriber, or of all when subscriber is unset (that listing
// reads an index, eventually consistent on DynamoDB). limit 1..1000; cursor "" or a next_cursor.
DeadLetterPage list_dead_letters(storage::Store& store,
                                 const std::optional<std::string>& subscriber, std::size_t limit,
                                 const std::string& cursor);

// Moves subscriber's dead letter for event_id back into the outbox, for that subscriber alone
// (the event's own outbox item may still be waiting for other subscribers), in one write.
// Throws Error not_found when there is no such dead letter.
void requeue_dead_letter(storage::Store& store, const std::string& subscriber,
                         const std::string& event_id);

}  // namespace cellfleet::events
