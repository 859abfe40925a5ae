import Dispatch

extension DispatchQueue {
    /// Runs `work` on this queue and waits for it without holding a thread of Swift's cooperative pool,
    /// which has one thread per core: long synchronous work (an ingest, a registry check) run there would
    /// stall the server's requests.
    /// - Parameter work: the synchronous work.
    /// - Returns: what `work` returns.
    /// - Throws: what `work` throws.
    package func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            self.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
