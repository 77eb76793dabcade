#pragma once
// Branch-free float approximations for the encoder's elementwise steps, written
// so that GCC vectorises the loops at -O2 with the baseline x86-64 ISA. glibc's
// erff and expf were a fifth of the forward pass's time in a profile.
#include <cstddef>

namespace spectra::embed::fast {

// e^x for x <= 0 (inputs below -87 give 0). Relative error below 2e-7.
float exp_nonpositive(float x);

// In place: x = 0.5 x (1 + erf(x / sqrt 2)), BERT's exact GELU, with erf from
// Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, about one float ulp
// of erf's range).
void gelu(float* x, std::size_t n);

// In place: x[i] = exp(x[i] - max) / sum, for one row.
void softmax(float* x, std::size_t n);

}  // namespace spectra::embed::fast
