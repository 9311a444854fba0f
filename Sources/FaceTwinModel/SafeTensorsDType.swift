/// The element types of the safetensors format, spelled as in the file header.
///
/// Only the types PyTorch state dicts actually use for our models are converted
/// (`floats` for the float types, `int64s` for the integer and boolean types); the
/// others are still recognised so a file holding them opens and their bytes can be read.
/// The 8-bit float types (`F8_E4M3`, `F8_E5M2`, …) are deliberately not listed: a header
/// naming them is rejected as an unknown dtype rather than half-supported.
package enum SafeTensorsDType: String, Sendable, CaseIterable, Hashable {
    case bool = "BOOL"
    case uint8 = "U8"
    case int8 = "I8"
    case int16 = "I16"
    case uint16 = "U16"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int32 = "I32"
    case uint32 = "U32"
    case float32 = "F32"
    case float64 = "F64"
    case int64 = "I64"
    case uint64 = "U64"

    /// Bytes per element.
    package var byteSize: Int {
        switch self {
        case .bool, .uint8, .int8: return 1
        case .int16, .uint16, .float16, .bfloat16: return 2
        case .int32, .uint32, .float32: return 4
        case .float64, .int64, .uint64: return 8
        }
    }

    /// Whether `SafeTensorsFile.floats(_:)` converts this type.
    package var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: return true
        default: return false
        }
    }

    /// Whether `SafeTensorsFile.int64s(_:)` converts this type.
    package var isInteger: Bool {
        switch self {
        case .bool, .uint8, .int8, .int16, .uint16, .int32, .uint32, .int64, .uint64: return true
        default: return false
        }
    }
}

/// Bit-exact conversions of the 16-bit float formats, done by hand so they behave the
/// same on every platform (Swift's `Float16` is missing on some targets).
enum HalfConversion {
    /// IEEE 754 binary16 → binary32, exact for every input (subnormals, ±0, ±inf, NaN
    /// payloads are kept in the top mantissa bits).
    @inline(__always)
    static func float(fromHalfBits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x03FF)
        if exponent == 0x1F {
            // Infinity or NaN.
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal half: value = mantissa × 2⁻²⁴, exactly representable in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// bfloat16 → binary32: bfloat16 is the top half of a binary32.
    @inline(__always)
    static func float(fromBFloat16Bits b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }
}
