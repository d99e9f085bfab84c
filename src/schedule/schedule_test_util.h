// Test support (header-only): the real PROMIS-MDA5 protocol, loaded once, and date helpers.
// Tests run from the repository root (ctest does).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/date.h"
#include "core/quantity.h"
#include "protocol/protocol.h"

namespace trial::schedule::testing {

// The reference protocol's schedule (loading fails the test).
inline const protocol::Schedule& RealSchedule() {
  static const std::unique_ptr<protocol::Protocol> p = [] {
    auto loaded = protocol::Load("protocols/promis-mda5");
    EXPECT_TRUE(loaded.has_value()) << loaded.error().message;
    return loaded ? std::move(*loaded) : std::make_unique<protocol::Protocol>();
  }();
  EXPECT_TRUE(p->schedule.has_value());
  static const protocol::Schedule empty;
  return p->schedule ? *p->schedule : empty;
}

inline Date D(const char* ymd) { return *Date::Parse(ymd); }

inline Quantity Q(double value, const char* unit, Comparator c = Comparator::kEq) {
  return Quantity{value, *Unit::Parse(unit), c};
}

}  // namespace trial::schedule::testing
