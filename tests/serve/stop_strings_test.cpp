#include <catch2/catch.hpp>

#include "serve/stop_strings.h"

using dilmodeli::serve::StopStrings;

TEST_CASE("stop strings hold back what may start one and cut at the first", "[serve]") {
    StopStrings stops({"\n\n", "The end"});
    CHECK(stops.push("Once upon") == "Once upon");
    CHECK(stops.push(" a time.\n") == " a time.");  // "\n" may start "\n\n"
    CHECK(stops.push("She") == "\nShe");            // it did not
    CHECK(stops.push(" said: The") == " said: ");   // "The" may start "The end"
    CHECK(stops.push(" e") == "");
    CHECK(stops.push("nd. More") == "");
    CHECK(stops.stopped());
    CHECK(stops.push("after") == "");
    CHECK(stops.flush() == "");
}

TEST_CASE("text without stop strings passes through, and flush releases the held tail", "[serve]") {
    StopStrings none({});
    CHECK(none.push("abc") == "abc");
    CHECK_FALSE(none.stopped());
    StopStrings stops({"###"});
    CHECK(stops.push("x ##") == "x ");
    CHECK(stops.flush() == "##");
    StopStrings at_once({"b", "abc"});
    CHECK(at_once.push("xabc") == "x");  // the earliest match wins, whichever string it is
}
