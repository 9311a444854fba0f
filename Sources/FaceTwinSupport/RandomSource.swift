/// A small, fast, seedable generator (xoshiro256**, seeded through SplitMix64), so that a
/// training run is reproducible from its `--seed` on any machine.
package struct RandomSource: RandomNumberGenerator {
    @usableFromInline var s: (UInt64, UInt64, UInt64, UInt64)

    package init(seed: UInt64) {
        var z = seed
        func splitMix(_ z: inout UInt64) -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        s = (splitMix(&z), splitMix(&z), splitMix(&z), splitMix(&z))
    }

    @inlinable package mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }
}
