public import Foundation
public import ShanyrakCore
public import ShanyrakCrypto
public import ShanyrakStore

extension Ingester {
    /// Creates an ingester over a set of data keys that is never reloaded (a command that runs once).
    public init(registry: Registry, keys: DataKeys, pseudonymiser: Pseudonymiser, catalog: IndicatorCatalog) {
        self.init(registry: registry, keys: CurrentDataKeys(keys), pseudonymiser: pseudonymiser, catalog: catalog)
    }

    /// Ingests one feed file through its mapping.
    ///
    /// The values are sealed with the data keys loaded when the run begins. When the registry refuses the
    /// batch because those keys were rotated since they were loaded (`StoreError.dataKeysRotated`: nothing
    /// of it was written), the keys are loaded anew (this thread waits for it) and the file is ingested once
    /// more from its start; a second refusal, or keys that cannot be loaded anew, end the run with that error.
    /// - Returns: the summary of the committed batch.
    /// - Throws: `IngestError` when nothing was loaded (unreadable file, wrong header,
    ///   `allOrNothing` with bad rows), or a database error (then nothing was loaded either).
    public func ingest(file: URL, mapping: SourceMapping, options: IngestOptions = IngestOptions()) throws
        -> IngestSummary
    {
        try dataKeys.retryingAfterReloadSynchronously(
            when: { ($0 as? StoreError)?.isDataKeysRotated == true },
            { try ingest(file: file, mapping: mapping, options: options, keys: $0.keys) })
    }
}
