#pragma once
// IANA time zone names ("Africa/Nairobi"). An organization's business day — when a day of credit
// ends, when an installment is due — is computed in its zone, so a name must be one the tz
// database knows.

#include <string_view>

namespace cellfleet {

// True when name is a zone in the system's tz database (Debian's tzdata, /usr/share/zoneinfo).
bool is_time_zone(std::string_view name);

}  // namespace cellfleet
