/// Request ids: random UUIDs (version 4) in lowercase text, as sent in `X-Request-ID` and recorded in the audit log.
///
/// Made from the system's random generator (`getrandom`) rather than Foundation's `UUID()`, which on
/// Linux opened, read and closed `/dev/urandom` for every request.
enum RequestID {
    /// A new request id, such as `1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b`.
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (generator.next() as UInt64, generator.next() as UInt64)
        return withUnsafeMutableBytes(of: &bytes) { raw in
            raw[6] = (raw[6] & 0x0F) | 0x40  // version 4
            raw[8] = (raw[8] & 0x3F) | 0x80  // variant 10
            return text(of: UnsafeRawBufferPointer(raw))
        }
    }

    /// The 8-4-4-4-12 hex text of 16 bytes.
    static func text(of bytes: UnsafeRawBufferPointer) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 36) { out in
            var o = 0
            for (i, byte) in bytes.prefix(16).enumerated() {
                if i == 4 || i == 6 || i == 8 || i == 10 {
                    out[o] = UInt8(ascii: "-")
                    o += 1
                }
                out[o] = digits.utf8Start[Int(byte >> 4)]
                out[o + 1] = digits.utf8Start[Int(byte & 0x0F)]
                o += 2
            }
            return o
        }
    }
}
