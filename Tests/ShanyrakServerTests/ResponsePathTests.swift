import Foundation
import HTTPTypes
import Hummingbird
import Testing

@testable import ShanyrakServer

/// The pieces of the response path outside the contract: request ids, and small bodies collected into one write.
@Suite("HTTP API: request ids and collected bodies")
struct ResponsePathTests {
    @Test("request ids are random version-4 UUIDs in lowercase text")
    func requestIDs() throws {
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let id = RequestID.make()
            let uuid = try #require(UUID(uuidString: id))
            #expect(uuid.uuidString.lowercased() == id)
            let bytes = withUnsafeBytes(of: uuid.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 4)
            #expect(bytes[8] >> 6 == 0b10)
            seen.insert(id)
        }
        #expect(seen.count == 10_000)
        let fixed: [UInt8] = Array(0..<16)
        #expect(fixed.withUnsafeBytes(RequestID.text) == "00010203-0405-0607-0809-0a0b0c0d0e0f")
    }

    /// Everything a body writes, and its trailers, in order.
    final class Recorder: ResponseBodyWriter, @unchecked Sendable {
        var parts: [ByteBuffer] = []
        var trailers: HTTPFields?
        var finished = false
        func write(_ buffer: ByteBuffer) async throws { parts.append(buffer) }
        func finish(_ trailingHeaders: HTTPFields?) async throws {
            trailers = trailingHeaders
            finished = true
        }
    }

    static func streamed(_ pieces: [String], length: Int?, trailers: HTTPFields? = nil) -> ResponseBody {
        ResponseBody(contentLength: length) { writer in
            for piece in pieces { try await writer.write(ByteBuffer(string: piece)) }
            try await writer.finish(trailers)
        }
    }

    @Test("a small body of several pieces becomes one buffer with the same bytes")
    func collectsPieces() async throws {
        let body = try await Self.streamed(["{\"a\":", "1", "}"], length: 7).collectedInMemory()
        let recorder = Recorder()
        try await body.write(recorder)
        #expect(recorder.parts.count == 1)
        #expect(recorder.parts.first.map { String(buffer: $0) } == "{\"a\":1}")
        #expect(recorder.finished && recorder.trailers == nil)
        #expect(body.contentLength == 7)
    }

    @Test("trailers are kept, and long or unsized bodies still stream piece by piece")
    func keepsTrailersAndStreams() async throws {
        let trailers: HTTPFields = [HTTPField.Name("X-Check")!: "1"]
        let withTrailers = try await Self.streamed(["ab", "cd"], length: 4, trailers: trailers).collectedInMemory()
        let recorder = Recorder()
        try await withTrailers.write(recorder)
        #expect(recorder.parts.map { String(buffer: $0) } == ["abcd"])
        #expect(recorder.trailers == trailers)

        let big = String(repeating: "x", count: ResponseBody.collectLimit)
        for body in [Self.streamed([big, "y"], length: big.utf8.count + 1), Self.streamed(["a", "b"], length: nil)] {
            let recorder = Recorder()
            try await body.collectedInMemory().write(recorder)
            #expect(recorder.parts.count == 2)
            #expect(recorder.finished)
        }
    }

    @Test("a body that fails while collected throws before anything is sent")
    func failureBeforeSending() async throws {
        struct Broken: Error {}
        let body = ResponseBody(contentLength: 10) { writer in
            try await writer.write(ByteBuffer(string: "12345"))
            throw Broken()
        }
        await #expect(throws: Broken.self) { _ = try await body.collectedInMemory() }
    }
}
