import HTTPTypes
import Hummingbird

// Small bodies in one write.
//
// The OpenAPI transport hands Hummingbird every body as a closure that writes it piece by
// piece, so a 2 KB household card went out as three writes to the connection (head, body,
// end), each an asynchronous hop to the event loop and, mostly, a system call of its own.
// Hummingbird writes a body that is a single buffer together with its head in one batch.
// `collectedInMemory` runs a small body's closure into memory before the response is
// returned, and gives Hummingbird that single buffer.

extension ResponseBody {
    /// Bodies up to this length are collected; longer ones (audit pages, exports) keep streaming.
    static let collectLimit = 256 * 1024

    /// This body as one buffer, when its length is known and at most `collectLimit`; otherwise itself.
    ///
    /// Trailing headers, which the transport never writes, are kept: such a body is written as
    /// the buffer followed by them, so nothing is lost either way.
    /// - Throws: what the body's own writing throws; then nothing has been sent yet, so the
    ///   caller can still answer with a problem instead of a cut-off response.
    func collectedInMemory() async throws -> ResponseBody {
        guard let length = contentLength, length <= Self.collectLimit else { return self }
        let collector = CollectingBodyWriter()
        try await write(collector)
        let buffer = collector.store.buffer
        guard let trailers = collector.store.trailers else { return ResponseBody(byteBuffer: buffer) }
        return ResponseBody(contentLength: buffer.readableBytes) { writer in
            try await writer.write(buffer)
            try await writer.finish(trailers)
        }
    }
}

/// A body writer that keeps what it is given in memory.
private struct CollectingBodyWriter: ResponseBodyWriter {
    /// The collected bytes and trailers (a reference: `finish` consumes the writer).
    final class Store: @unchecked Sendable {
        var buffer: ByteBuffer
        var trailers: HTTPFields?
        init(buffer: ByteBuffer) { self.buffer = buffer }
    }
    let store: Store

    init() { store = Store(buffer: ByteBuffer()) }

    mutating func write(_ buffer: ByteBuffer) async throws {
        if store.buffer.readableBytes == 0 {
            store.buffer = buffer  // the usual case: one piece, kept without a copy
        } else {
            var more = buffer
            store.buffer.writeBuffer(&more)
        }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        store.trailers = trailingHeaders
    }
}
