// DEC's version, compared between ranks at the handshake.
#pragma once

namespace dec {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace dec
