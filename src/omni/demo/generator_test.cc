#include "omni/demo/generator.h"

#include <gtest/gtest.h>

TEST(Placeholder, Builds) {}
