import HTTPTypes
import OpenAPIRuntime

/// Refuses, with 413, a request body longer than `maximumBytes`, for every operation but those that
/// read their body themselves with a limit of their own (ingest spools its feed to a file).
///
/// The generated layer collects a JSON body whole before decoding it, with no limit of its own: without
/// this, one authenticated break-glass request could make the server hold gigabytes in memory.
struct RequestBodyLimitMiddleware: ServerMiddleware {
    /// Operations that stream their body under their own limit.
    static let streamingOperations: Set<String> = ["ingestFeed"]

    /// The most bytes a body may hold.
    let maximumBytes: Int

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard let body, !Self.streamingOperations.contains(operationID) else {
            return try await next(request, body, metadata)
        }
        // A declared length says it at once; a chunked body is counted as it arrives.
        if case .known(let length) = body.length, length > maximumBytes { throw Problem.tooLarge }
        let limited = HTTPBody(
            LimitedBytes(base: body, maximumBytes: maximumBytes), length: body.length,
            iterationBehavior: body.iterationBehavior)
        return try await next(request, limited, metadata)
    }
}

/// The chunks of a body, failing with `Problem.tooLarge` once they add up to more than `maximumBytes`.
struct LimitedBytes: AsyncSequence, Sendable {
    typealias Element = HTTPBody.ByteChunk
    let base: HTTPBody
    let maximumBytes: Int

    func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), remaining: maximumBytes)
    }

    /// Counts the bytes of the chunks it passes on.
    struct Iterator: AsyncIteratorProtocol {
        var base: HTTPBody.Iterator
        var remaining: Int

        mutating func next() async throws -> HTTPBody.ByteChunk? {
            guard let chunk = try await base.next() else { return nil }
            remaining -= chunk.count
            guard remaining >= 0 else { throw Problem.tooLarge }
            return chunk
        }
    }
}
