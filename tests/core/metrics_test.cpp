#include <catch2/catch.hpp>

#include "core/metrics.h"

using namespace cellfleet;

TEST_CASE("histograms render cumulative buckets in seconds", "[metrics]") {
  MetricsRegistry m;
  auto& h = m.histogram("op_seconds", "Op time", {{"op", "x"}}, {1000, 10000});
  h.observe_us(500);
  h.observe_us(5000);
  h.observe_us(50000);
  auto text = m.render();
  CHECK_THAT(text, Catch::Contains("# TYPE op_seconds histogram"));
  CHECK_THAT(text, Catch::Contains(R"(op_seconds_bucket{op="x",le="0.001"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(op_seconds_bucket{op="x",le="0.01"} 2)"));
  CHECK_THAT(text, Catch::Contains(R"(op_seconds_bucket{op="x",le="+Inf"} 3)"));
  CHECK_THAT(text, Catch::Contains(R"(op_seconds_count{op="x"} 3)"));
  CHECK_THAT(text, Catch::Contains(R"(op_seconds_sum{op="x"} 0.0555)"));
}

TEST_CASE("label values are escaped", "[metrics]") {
  MetricsRegistry m;
  m.counter("c_total", "C", {{"path", "a\"b\\c\nd"}}).inc(2);
  CHECK_THAT(m.render(), Catch::Contains(R"(c_total{path="a\"b\\c\nd"} 2)"));
}

TEST_CASE("a name registered as two types is a programming error", "[metrics]") {
  MetricsRegistry m;
  m.counter("x_total", "X");
  CHECK_THROWS_AS(m.gauge("x_total", "X"), std::logic_error);
}
