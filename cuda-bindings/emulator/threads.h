// Running one block of an emulated launch (threads.cpp).
#pragma once

#include <algorithm>

#include "emulator.h"

namespace tsemu {

constexpr int MAX_THREADS_PER_BLOCK = 1024;

// Runs every thread of b (blockIdx, blockDim, gridDim, launch and threads set by the caller)
// to completion on the calling host thread; returns null, or why the block failed.
const char* runBlock(Block& b);

}  // namespace tsemu
