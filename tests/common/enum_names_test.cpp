#include <catch2/catch.hpp>

#include "common/enum_names.h"
#include "common/error.h"

namespace {

enum class Colour { Red, Green, Blue };
constexpr dilmodeli::EnumName<Colour> kColours[] = {
    {Colour::Red, "red"}, {Colour::Green, "green"}, {Colour::Blue, "blue"}};

}  // namespace

TEST_CASE("an enum's name table reads both ways and names the choices when a name is unknown", "[common]") {
    CHECK(dilmodeli::enum_name(kColours, Colour::Green) == std::string("green"));
    CHECK(dilmodeli::parse_enum(kColours, "blue", "colour") == Colour::Blue);
    CHECK(dilmodeli::enum_name(kColours, static_cast<Colour>(7)) == std::string("?"));
    CHECK_THROWS_WITH(dilmodeli::parse_enum(kColours, "Blue", "colour"),
                      "unknown colour 'Blue' (red, green or blue)");
    constexpr dilmodeli::EnumName<Colour> two[] = {{Colour::Red, "red"}, {Colour::Blue, "blue"}};
    CHECK_THROWS_WITH(dilmodeli::parse_enum(two, "", "colour"), "unknown colour '' (red or blue)");
}
