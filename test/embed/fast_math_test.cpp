#include "embed/fast_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace spectra::embed::fast {
namespace {

TEST(FastMath, ExpMatchesLibmOnNonPositiveInputs) {
  double worst = 0;
  for (float x = -87.0f; x <= 0.0f; x += 0.001f) {
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(exp_nonpositive(x) - want) / want);
  }
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(exp_nonpositive(0.0f), 1.0f);
  EXPECT_GE(exp_nonpositive(-1000.0f), 0.0f);
  EXPECT_LT(exp_nonpositive(-1000.0f), 1e-37f);
}

TEST(FastMath, GeluMatchesExactErfGelu) {
  std::vector<float> x;
  for (float v = -12.0f; v <= 12.0f; v += 0.0005f) x.push_back(v);
  std::vector<float> y = x;
  gelu(y.data(), y.size());  // blocks of 16 and a scalar tail
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    const double want = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    worst = std::max(worst, std::abs(y[i] - want) / std::max(1.0, std::abs(v)));
  }
  EXPECT_LT(worst, 5e-7);
}

TEST(FastMath, SoftmaxSumsToOneAndMatchesDirectFormula) {
  std::vector<float> x = {1.0f, 2.0f, -3.0f, 0.5f, 40.0f, -40.0f, 7.0f};
  for (int i = 0; i < 20; ++i) x.push_back(0.1f * i);  // longer than one block
  std::vector<float> y = x;
  softmax(y.data(), y.size());
  double max = *std::max_element(x.begin(), x.end());
  double sum = 0;
  for (float v : x) sum += std::exp(v - max);
  double total = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(y[i], std::exp(x[i] - max) / sum, 1e-7) << i;
    total += y[i];
  }
  EXPECT_NEAR(total, 1.0, 1e-6);
}

}  // namespace
}  // namespace spectra::embed::fast
