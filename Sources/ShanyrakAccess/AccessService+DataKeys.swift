public import Foundation
public import ShanyrakCore
public import ShanyrakCrypto
public import ShanyrakStore

extension AccessService {
    /// Creates the service over a set of data keys that is never reloaded (a command that runs once, tests);
    /// see `init(registry:keys:catalog:policy:auditLog:pseudonymiser:clock:authenticationCacheLifetime:)`
    /// with `CurrentDataKeys` for the parameters.
    public init(
        registry: Registry, keys: DataKeys, catalog: IndicatorCatalog, policy: any AccessPolicy,
        auditLog: any AccessAuditLog, pseudonymiser: Pseudonymiser? = nil,
        clock: @escaping @Sendable () -> Date = { Date() },
        authenticationCacheLifetime: Duration = AccessService.defaultAuthenticationCacheLifetime
    ) {
        self.init(
            registry: registry, keys: CurrentDataKeys(keys), catalog: catalog, policy: policy, auditLog: auditLog,
            pseudonymiser: pseudonymiser, clock: clock, authenticationCacheLifetime: authenticationCacheLifetime)
    }

    /// Runs a view's registry read with the data keys loaded now. When a value it meets is sealed under a
    /// key version those keys lack (rewrapped under a version made since they were loaded), the keys are
    /// loaded anew, once for all the requests that need it at that moment, and the read runs once more, from
    /// its start, with them. A version that the registry does not hold either fails as before the reload.
    /// - Parameters:
    ///   - keys: the service's data keys.
    ///   - read: the read; it may run twice, and must then start afresh.
    /// - Returns: what `read` returns.
    /// - Throws: what `read` throws; `AccessFailure` when a value's key version is not active even after a reload.
    func readReloadingKeys<T>(_ keys: CurrentDataKeys, _ read: (CurrentDataKeys.Loaded) throws -> T) async throws
        -> T
    {
        do {
            return try await keys.retryingAfterReload(when: { $0 is UnknownKeyVersion }, read)
        } catch is UnknownKeyVersion {
            throw AccessFailure("a stored value has no active data key")
        }
    }
}

/// A stored value is sealed under a data-key version that the set in use does not hold: the keys are
/// loaded anew before the read is tried once more (`AccessService.readReloadingKeys`).
struct UnknownKeyVersion: Error {}
