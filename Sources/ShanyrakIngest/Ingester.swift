public import Foundation
public import ShanyrakCore
public import ShanyrakCrypto
public import ShanyrakStore

/// One rejected row: where and which rule, never the value.
public struct IngestProblem: Error, Sendable, Codable, Equatable {
    /// 1-based line in the file (the header is line 1).
    public let line: Int
    /// The column that failed, or `*` for the whole line.
    public let column: String
    /// The rule that failed.
    public let rule: String
}

/// What one ingest run did.
public struct IngestSummary: Sendable, Codable {
    /// Source name.
    public var source: String
    /// Batch id in the registry (nil when nothing was committed).
    public var batch: Int64?
    /// Data rows read (not counting the header).
    public var rowsRead = 0
    /// Rows whose values were all accepted.
    public var rowsAccepted = 0
    /// Rows sent to quarantine.
    public var rowsQuarantined = 0
    /// New values sealed and stored.
    public var valuesWritten = 0
    /// Values identical to what was already stored (re-delivery).
    public var valuesUnchanged = 0
    /// Wall-clock seconds.
    public var seconds = 0.0
    /// The first problems (at most `IngestOptions.problemLimit`).
    public var problems: [IngestProblem] = []
    /// Keyed BLAKE2b-256 of the file (valuemac key), hex: identifies a re-delivered
    /// file without letting anyone who reads the registry guess a small feed's content.
    public var fileDigest = ""
    /// The digest of the records the batch wrote, for the batch's audit entry (nil when nothing was
    /// committed). Not part of the JSON summary.
    public var anchor: BatchAnchor?

    enum CodingKeys: String, CodingKey {
        case source, batch, seconds, problems
        case rowsRead = "rows_read"
        case rowsAccepted = "rows_accepted"
        case rowsQuarantined = "rows_quarantined"
        case valuesWritten = "values_written"
        case valuesUnchanged = "values_unchanged"
        case fileDigest = "file_digest"
    }
}

/// Options of one ingest run.
public struct IngestOptions: Sendable {
    /// Refuse the whole batch when any row is bad.
    public var allOrNothing = false
    /// How many problems the summary lists (all are quarantined).
    public var problemLimit = 1000
    /// Called now and then with (rows read, bytes read).
    public var progress: (@Sendable (Int, Int) -> Void)?
    /// The instant whose UTC date is the ingest day; nil (the default) takes the clock when
    /// the run starts. A row observed after the ingest day plus one day is quarantined.
    public var now: Date?

    /// Default options.
    /// - Parameters:
    ///   - allOrNothing: refuse the whole batch when any row is bad.
    ///   - progress: called now and then with (rows read, bytes read).
    ///   - now: the instant that fixes the ingest day (tests); nil for the clock.
    public init(allOrNothing: Bool = false, progress: (@Sendable (Int, Int) -> Void)? = nil, now: Date? = nil) {
        self.allOrNothing = allOrNothing
        self.progress = progress
        self.now = now
    }
}

/// Loads agency feeds into the registry: validate, pseudonymise, seal, store.
///
/// Two threads: a producer reads, validates, pseudonymises and seals rows; the
/// registry writer stores them. A bounded queue between them keeps memory flat
/// whatever the size of the file. A batch is one transaction: a crash or kill at
/// any point leaves the whole batch or none of it, and a re-run completes the work
/// (a value identical to the newest stored version is recognised by its MAC, see `RedeliveryCheck`).
public struct Ingester: Sendable {
    private let registry: Registry
    /// The data keys: each run uses the set loaded when it begins (see `ingest(file:mapping:options:)`).
    let dataKeys: CurrentDataKeys
    private let pseudonymiser: Pseudonymiser
    private let catalog: IndicatorCatalog

    /// Relations to the head of household that the population register uses.
    public static let relations: Set<String> = [
        "head", "spouse", "child", "parent", "grandchild", "sibling", "other_relative", "non_relative",
    ]

    /// Creates an ingester whose data keys are loaded anew when the registry refuses a batch sealed under
    /// keys that were rotated (when `keys` can be reloaded).
    public init(registry: Registry, keys: CurrentDataKeys, pseudonymiser: Pseudonymiser, catalog: IndicatorCatalog) {
        self.registry = registry
        self.dataKeys = keys
        self.pseudonymiser = pseudonymiser
        self.catalog = catalog
    }

    /// One run of `ingest(file:mapping:options:)` with the data keys `keys`.
    func ingest(file: URL, mapping: SourceMapping, options: IngestOptions, keys: DataKeys) throws -> IngestSummary {
        let started = Date()
        var summary = IngestSummary(source: mapping.source)
        guard let (quarantineVersion, quarantineKey) = keys.writeKey(for: DataKeys.quarantineClass),
            let (_, macKey) = keys.writeKey(for: DataKeys.valueMACClass)
        else { throw IngestError.configuration("registry has no quarantine or valuemac key") }
        let layout: RowLayout
        do {
            var reader = try CSVLineReader(url: file)
            guard let headerLine = try reader.nextLine() else {
                throw IngestError.input("\(file.path): empty file, expected a header line")
            }
            guard case .success(let header) = CSVLineReader.fields(of: headerLine) else {
                throw IngestError.input("\(file.path):1: header is not valid CSV")
            }
            let ingestDay = CivilDate.day(secondsSince1970: (options.now ?? started).timeIntervalSince1970)
            layout = try RowLayout(
                header: header, mapping: mapping, catalog: catalog, file: file.path,
                latestObservation: CivilDate.string(ingestDay + RowLayout.observationToleranceDays))
        }
        let numbers = try registry.indicatorNumbers()
        for indicator in catalog.indicators
        where indicator.sources.contains(mapping.source) && numbers[indicator.id] == nil {
            throw IngestError.configuration(
                "indicator \(indicator.id) is not in the registry: the catalog grew since `init`")
        }

        var indicators: [Int64: (id: String, keyClass: String)] = [:]
        for indicator in catalog.indicators {
            if let number = numbers[indicator.id] {
                indicators[number] = (indicator.id, indicator.indicatorClass.rawValue)
            }
        }
        let redelivery = RedeliveryCheck(keys: keys, macKey: macKey, source: mapping.source, indicators: indicators)

        let queue = PreparedChunkQueue(capacity: 8)
        let producer = RowProducer(
            file: file, layout: layout, mapping: mapping, catalog: catalog, pseudonymiser: pseudonymiser, keys: keys,
            numbers: numbers, quarantineKey: quarantineKey, macKey: macKey)
        let problemLimit = options.problemLimit
        let allOrNothing = options.allOrNothing
        let progress = options.progress
        let (batch, counts, anchor): (Int64, BatchCounts, BatchAnchor)
        do {
            (batch, counts, anchor) = try registry.writeBatch(source: mapping.source) { writer in
                let batchID = writer.batchID
                let firstDelivery = writer.isFirstDeliveryOfSource
                let thread = Thread { producer.run(batch: batchID, firstDelivery: firstDelivery, into: queue) }
                thread.stackSize = 1 << 22
                thread.start()
                defer { queue.cancel() }
                var counts = BatchCounts()
                func reject(_ line: Int, _ column: String, _ rule: String, _ sealed: [UInt8]) throws {
                    counts.rowsQuarantined += 1
                    if summary.problems.count < problemLimit {
                        summary.problems.append(IngestProblem(line: line, column: column, rule: rule))
                    }
                    try writer.quarantine(
                        line: line, column: column, rule: rule, keyVersion: quarantineVersion, sealedLine: sealed)
                }
                while let chunk = try queue.take() {
                    writer.addValueCounts(chunk.valueCounts)
                    for row in chunk.rows {
                        counts.rowsRead += 1
                        switch row {
                        case .rejected(let line, let column, let rule, let sealed):
                            try reject(line, column, rule, sealed)
                        case .accepted(let accepted):
                            // Only the population register moves people between households (the
                            // mapping loader refuses household columns anywhere else).
                            if mapping.registersPersons, let h = accepted.household {
                                try writer.upsertMembership(
                                    person: accepted.subject, household: h.pseudonym, district: h.district,
                                    relation: h.relation,
                                    certainlyNew: accepted.certainlyNew)
                            } else if try !writer.personExists(accepted.subject) {
                                let sealed = try XChaCha20Poly1305.seal(
                                    accepted.rawLine,
                                    associatedData: Registry.quarantineAssociatedData(
                                        batch: batchID, line: accepted.line),
                                    key: quarantineKey)
                                try reject(
                                    accepted.line, mapping.subjectColumn, "person is not in the population register",
                                    sealed)
                                writer.addValueCounts(try Self.counts(of: accepted.payload, sign: -1))
                                continue
                            }
                            try Self.storeValues(of: accepted, writer: writer, redelivery: redelivery, counts: &counts)
                            counts.rowsAccepted += 1
                        }
                    }
                    progress?(counts.rowsRead, chunk.bytesRead)
                    queue.giveBack(chunk)
                }
                guard let digest = queue.fileDigest else {
                    throw IngestError.input("\(file.path): the file was not read to its end")
                }
                summary.fileDigest = Hex.encode(digest)
                writer.fileDigest = summary.fileDigest
                if allOrNothing && counts.rowsQuarantined > 0 {
                    let first =
                        summary.problems.first.map { " (first: line \($0.line), column \($0.column): \($0.rule))" }
                        ?? ""
                    throw IngestError.refused(
                        "--all-or-nothing: \(counts.rowsQuarantined) of \(counts.rowsRead) rows are bad\(first); nothing was loaded"
                    )
                }
                return counts
            }
        }
        summary.batch = batch
        summary.anchor = anchor
        summary.rowsRead = counts.rowsRead
        summary.rowsAccepted = counts.rowsAccepted
        summary.rowsQuarantined = counts.rowsQuarantined
        summary.valuesWritten = counts.valuesWritten
        summary.valuesUnchanged = counts.valuesUnchanged
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// Stores what is new in an accepted row as one record: every value when nothing is
    /// stored yet, otherwise the values that differ from the newest stored version for the
    /// same indicator and observation date (`RedeliveryCheck`). The producer counted every
    /// value of the row; a row stored in part has its count corrected here.
    private static func storeValues(
        of accepted: AcceptedRow, writer: BatchWriter, redelivery: RedeliveryCheck, counts: inout BatchCounts
    ) throws {
        let stored = accepted.certainlyNew ? [:] : try writer.latestMACs(subject: accepted.subject)
        guard !stored.isEmpty else {
            try writer.insertRecord(
                subject: accepted.subject, observedAt: accepted.observedAt, payload: accepted.payload, counted: true)
            counts.valuesWritten += accepted.payload.count
            return
        }
        writer.addValueCounts(try Self.counts(of: accepted.payload, sign: -1))
        var payload = RecordPayload(format: accepted.payload.format)
        try RecordPayload.forEachEntry(in: accepted.payload.bytes) { entry in
            let key = StoredValueKey(indicator: entry.indicator, observedAt: accepted.observedAt)
            if let mac = stored[key],
                try redelivery.isIdentical(
                    entry, to: mac, subject: accepted.subject, observedAt: accepted.observedAt, writer: writer)
            {
                counts.valuesUnchanged += 1
                return
            }
            try payload.append(entry)
            counts.valuesWritten += 1
        }
        try writer.insertRecord(subject: accepted.subject, observedAt: accepted.observedAt, payload: payload)
    }

    private static func counts(of payload: RecordPayload, sign: Int) throws -> ValueCounts {
        var counts = ValueCounts()
        try counts.add(payload, sign: sign)
        return counts
    }
}
