/// SplitMix64: seeds the main generator and hashes small keys into well-mixed 64-bit values.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 finaliser: a bijective mix of one 64-bit value.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman and Vigna): the generator's only source of randomness.
///
/// Deterministic across runs and platforms: no Foundation or system randomness is used
/// anywhere in the generator.
struct Xoshiro256StarStar {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// Seeds the four state words from SplitMix64, as the authors recommend.
    init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next()
        s1 = sm.next()
        s2 = sm.next()
        s3 = sm.next()
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform integer in `0..<bound` (multiply-high; bias below 2^-40 for the bounds used here).
    @inline(__always)
    mutating func below(_ bound: Int) -> Int {
        guard bound > 1 else { return 0 }
        return Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A uniform integer in `range`.
    @inline(__always)
    mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// A uniform double in `[0, 1)`.
    @inline(__always)
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// True with probability `p`.
    @inline(__always)
    mutating func chance(_ p: Double) -> Bool {
        unit() < p
    }

    /// A Poisson variate by Knuth's method; `expMinusLambda` is `exp(-lambda)`, computed once by the caller.
    mutating func poisson(expMinusLambda limit: Double, cap: Int) -> Int {
        var k = 0
        var p = unit()
        while p > limit && k < cap {
            k += 1
            p *= unit()
        }
        return k
    }

    /// An index drawn from cumulative weights (last element is the total).
    mutating func pick(cumulative: [Double]) -> Int {
        guard let total = cumulative.last else { return 0 }
        let x = unit() * total
        for (i, c) in cumulative.enumerated() where x < c { return i }
        return cumulative.count - 1
    }
}
