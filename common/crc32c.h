// CRC32C (Castagnoli), the checksum of Kafka's RecordBatch v2.
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at start), a
// slicing-by-8 table otherwise. Pure functions: safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace gregor::crc32c {

// Extends `crc` (the value returned for the bytes before `data`, 0 to start) over `data`.
uint32_t extend(uint32_t crc, std::span<const std::byte> data) noexcept;

inline uint32_t value(std::span<const std::byte> data) noexcept { return extend(0, data); }

// The portable implementation, exposed so tests can check both paths agree.
uint32_t extend_portable(uint32_t crc, std::span<const std::byte> data) noexcept;

// True when extend() uses the hardware instruction.
bool hardware_accelerated() noexcept;

}  // namespace gregor::crc32c
