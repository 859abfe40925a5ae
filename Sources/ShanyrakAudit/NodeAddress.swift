/// Addressing of stored complete-subtree nodes by post-order position.
///
/// Node (level, index) covers leaves [index << level, (index + 1) << level). Nodes are stored in the order
/// `CompactRange.append` creates them, so position = 2L - popcount(L) + level, with L the subtree's last leaf.
enum NodeAddress {
    static func position(level: Int, index: UInt64) -> Int64 {
        let last = ((index + 1) << UInt64(level)) - 1
        return Int64(2 * last - UInt64(last.nonzeroBitCount) + UInt64(level))
    }

    /// Number of stored nodes for a tree of `size` leaves.
    static func count(forSize size: UInt64) -> Int64 { Int64(2 * size - UInt64(size.nonzeroBitCount)) }

    /// The position of the complete, aligned subtree covering `range`, or nil if it is not one.
    static func position(of range: Range<UInt64>) -> Int64? {
        let width = range.upperBound - range.lowerBound
        guard width > 0, width & (width - 1) == 0, range.lowerBound % width == 0 else { return nil }
        let level = width.trailingZeroBitCount
        return position(level: level, index: range.lowerBound >> UInt64(level))
    }

    /// The peaks of a tree of `size` leaves: complete subtrees, largest first, as leaf ranges.
    static func peaks(size: UInt64) -> [Range<UInt64>] {
        var out: [Range<UInt64>] = []
        var start: UInt64 = 0
        for bit in stride(from: 63, through: 0, by: -1) where size & (UInt64(1) << UInt64(bit)) != 0 {
            out.append(start..<(start + (UInt64(1) << UInt64(bit))))
            start += UInt64(1) << UInt64(bit)
        }
        return out
    }

    /// Decomposes any range that a proof plan yields into complete subtrees, largest first.
    static func decompose(_ range: Range<UInt64>) -> [Range<UInt64>] {
        if position(of: range) != nil { return [range] }
        // A suffix [a, n) of a tree whose prefix [0, a) is aligned: the peaks of n that start at or after a.
        var out: [Range<UInt64>] = []
        var start = range.lowerBound
        while start < range.upperBound {
            var width = UInt64(1) << UInt64(63 - (range.upperBound - start).leadingZeroBitCount)
            while start % width != 0 { width >>= 1 }
            out.append(start..<(start + width))
            start += width
        }
        return out
    }
}
