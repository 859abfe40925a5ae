import Foundation

/// Runs a closure on a thread of its own, for tests that need two things to happen at once.
///
/// `@unchecked Sendable`: `result` is written once, on the thread, before `done` is signalled, and
/// read only after waiting for `done`, so the semaphore orders every access.
final class Background<Value>: @unchecked Sendable {
    private var result: Result<Value, any Error>?
    private let done = DispatchSemaphore(value: 0)

    /// Starts `body` on a new thread.
    init(_ body: @escaping @Sendable () throws -> Value) {
        let thread = Thread { [self] in
            result = Result { try body() }
            done.signal()
        }
        thread.start()
    }

    /// What `body` returned or threw, or `nil` when it has not finished within `seconds`.
    func wait(seconds: Double = 120) -> Result<Value, any Error>? {
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        done.signal()  // later calls return at once
        return result
    }
}
