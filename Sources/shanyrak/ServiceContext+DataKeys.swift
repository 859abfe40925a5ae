import Foundation
import Logging
import ShanyrakServer
import ShanyrakStore

extension ServiceContext {
    /// How often a server compares the registry's data-key versions with the ones it loaded.
    static let dataKeyCheckInterval: Duration = .seconds(60)

    /// The server's data keys, starting with `keys`: loaded anew, under the key folder's lock as a command
    /// loads them when it starts, when a request needs a version they lack, when a feed is refused because
    /// they were rotated, and when the check every `dataKeyCheckInterval` finds the registry's versions
    /// changed. Reloads and their failures are logged (classes and versions, never keys).
    /// - Throws: `CLIError` when `SHANYRAK_KEY_LOCK_TIMEOUT` is not a number of seconds.
    func reloading(_ keys: DataKeys) throws -> CurrentDataKeys {
        let logger = Logger(label: "shanyrak") { ServerLogHandler(label: $0, level: .notice) }
        let current = CurrentDataKeys(
            keys, registry: registry, keysDirectory: keysDirectory, lockTimeout: try keyLockTimeout(),
            report: { message, isFailure in
                if isFailure { logger.error("\(message)") } else { logger.notice("\(message)") }
            })
        current.checkPeriodically(every: Self.dataKeyCheckInterval)
        return current
    }
}
