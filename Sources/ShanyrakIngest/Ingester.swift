public import Foundation
internal import GRDB
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
    /// SHA-256 of the file, hex.
    public var fileSHA256 = ""

    enum CodingKeys: String, CodingKey {
        case source, batch, seconds, problems
        case rowsRead = "rows_read"
        case rowsAccepted = "rows_accepted"
        case rowsQuarantined = "rows_quarantined"
        case valuesWritten = "values_written"
        case valuesUnchanged = "values_unchanged"
        case fileSHA256 = "file_sha256"
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

    /// Default options.
    public init(allOrNothing: Bool = false, progress: (@Sendable (Int, Int) -> Void)? = nil) {
        self.allOrNothing = allOrNothing
        self.progress = progress
    }
}

/// Loads agency feeds into the registry: validate, pseudonymise, seal, store.
///
/// A batch is one transaction: a crash or kill at any point leaves the whole batch
/// or none of it, and a re-run completes the work (identical values are recognised
/// by their MAC and left as they are).
public struct Ingester: Sendable {
    private let registry: Registry
    private let keys: DataKeys
    private let pseudonymiser: Pseudonymiser
    private let catalog: IndicatorCatalog

    /// Relations to the head of household that the population register uses.
    public static let relations: Set<String> = [
        "head", "spouse", "child", "parent", "grandchild", "sibling", "other_relative", "non_relative",
    ]

    /// Creates an ingester.
    public init(registry: Registry, keys: DataKeys, pseudonymiser: Pseudonymiser, catalog: IndicatorCatalog) {
        self.registry = registry
        self.keys = keys
        self.pseudonymiser = pseudonymiser
        self.catalog = catalog
    }

    /// Ingests one feed file through its mapping.
    /// - Returns: the summary (with `batch` nil if `allOrNothing` refused nothing... see throws).
    /// - Throws: `IngestError` when nothing was loaded (unreadable file, wrong header,
    ///   `allOrNothing` with bad rows), or a database error (then nothing was loaded either).
    public func ingest(file: URL, mapping: SourceMapping, options: IngestOptions = IngestOptions()) throws -> IngestSummary {
        let started = Date()
        var summary = IngestSummary(source: mapping.source)
        summary.fileSHA256 = try Self.sha256Hex(of: file)
        var reader = try CSVLineReader(url: file)
        guard let headerLine = try reader.nextLine() else { throw IngestError.input("\(file.path): empty file, expected a header line") }
        guard case .success(let header) = CSVLineReader.fields(of: headerLine) else {
            throw IngestError.input("\(file.path):1: header is not valid CSV")
        }
        let layout = try RowLayout(header: header, mapping: mapping, catalog: catalog, file: file.path)
        let numbers = try registry.indicatorNumbers()
        for (_, id) in mapping.columns where numbers[id] == nil {
            throw IngestError.configuration("indicator \(id) is not in the registry: run `shanyrak init` with this catalog")
        }
        guard let (quarantineVersion, quarantineKey) = keys.writeKey(for: DataKeys.quarantineClass),
            let (_, macKey) = keys.writeKey(for: DataKeys.valueMACClass)
        else { throw IngestError.configuration("registry has no quarantine or valuemac key") }

        let now = Int64(started.timeIntervalSince1970)
        try registry.writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO batch (source, file_sha256, started_at, finished_at, rows_read, rows_accepted,
                        rows_quarantined, values_written, values_unchanged) VALUES (?, ?, ?, ?, 0, 0, 0, 0, 0)
                    """, arguments: [mapping.source, summary.fileSHA256, now, now])
            let batch = db.lastInsertedRowID
            summary.batch = batch
            let insertValue = try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO value (subject, indicator, observed_at, source, mac, key_version, sealed, batch)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            let personExists = try db.cachedStatement(sql: "SELECT 1 FROM person WHERE pseudonym = ?")
            let upsertHousehold = try db.cachedStatement(
                sql: "INSERT INTO household (pseudonym, district) VALUES (?, ?) ON CONFLICT(pseudonym) DO UPDATE SET district = excluded.district")
            let upsertPerson = try db.cachedStatement(
                sql: """
                    INSERT INTO person (pseudonym, household, relation) VALUES (?, ?, ?)
                    ON CONFLICT(pseudonym) DO UPDATE SET household = excluded.household, relation = excluded.relation
                    """)
            let insertQuarantine = try db.cachedStatement(
                sql: "INSERT INTO quarantine (batch, line, column_name, rule, key_version, sealed_line) VALUES (?, ?, ?, ?, ?, ?)")

            var sealer = ValueSealer()
            var macInput: [UInt8] = []
            var mac = [UInt8](repeating: 0, count: 16)

            func quarantine(_ line: ArraySlice<UInt8>, _ lineNumber: Int, _ column: String, _ rule: String) throws {
                summary.rowsQuarantined += 1
                if summary.problems.count < options.problemLimit {
                    summary.problems.append(IngestProblem(line: lineNumber, column: column, rule: rule))
                }
                let ad = Array("shanyrak.quarantine.v1\u{0}\(batch)\u{0}\(lineNumber)".utf8)
                let sealed = try XChaCha20Poly1305.seal(Array(line), associatedData: ad, key: quarantineKey)
                insertQuarantine.setUncheckedArguments([
                    batch, lineNumber, column, rule, Int64(quarantineVersion), Data(sealed),
                ])
                try insertQuarantine.execute()
            }

            while let line = try reader.nextLine() {
                if line.isEmpty { continue }
                summary.rowsRead += 1
                let lineNumber = reader.lineNumber
                if summary.rowsRead % 50_000 == 0 { options.progress?(summary.rowsRead, reader.bytesRead) }
                let fields: [String]
                switch CSVLineReader.fields(of: line) {
                case .failure(let malformed):
                    try quarantine(line, lineNumber, "*", "malformed CSV at field \(malformed.field): \(malformed.rule)")
                    continue
                case .success(let f): fields = f
                }
                let row: ValidatedRow
                switch layout.validate(fields, mapping: mapping, catalog: catalog, pseudonymiser: pseudonymiser) {
                case .failure(let problem):
                    try quarantine(line, lineNumber, problem.column, problem.rule)
                    continue
                case .success(let r): row = r
                }
                let subject = Data(row.subject.bytes)
                if mapping.registersPersons, let household = row.household {
                    let h = Data(household.pseudonym.bytes)
                    upsertHousehold.setUncheckedArguments([h, household.district])
                    try upsertHousehold.execute()
                    upsertPerson.setUncheckedArguments([subject, h, household.relation])
                    try upsertPerson.execute()
                } else {
                    personExists.setUncheckedArguments([subject])
                    guard try Row.fetchOne(personExists) != nil else {
                        try quarantine(line, lineNumber, mapping.subjectColumn, "person is not in the population register")
                        continue
                    }
                }
                for value in row.values {
                    guard let indicator = catalog[value.indicator], let number = numbers[value.indicator],
                        let (version, key) = keys.writeKey(for: indicator.indicatorClass.rawValue)
                    else { throw IngestError.configuration("no key or number for \(value.indicator)") }
                    macInput.removeAll(keepingCapacity: true)
                    macInput.append(contentsOf: row.subject.bytes)
                    macInput.append(contentsOf: value.indicator.utf8)
                    macInput.append(0)
                    macInput.append(contentsOf: value.value.utf8)
                    try macInput.withUnsafeBytes { m in
                        try mac.withUnsafeMutableBytes { o in try KeyedBLAKE2b.hash(m, key: macKey, into: o) }
                    }
                    let sealed = try sealer.seal(
                        value.value, subject: row.subject, indicator: value.indicator, keyVersion: version, key: key)
                    insertValue.setUncheckedArguments([
                        subject, number, row.observedAt, mapping.source, Data(mac), Int64(version), Data(sealed), batch,
                    ])
                    try insertValue.execute()
                    if db.changesCount > 0 { summary.valuesWritten += 1 } else { summary.valuesUnchanged += 1 }
                }
                summary.rowsAccepted += 1
            }
            if options.allOrNothing && summary.rowsQuarantined > 0 {
                let first = summary.problems.first.map { " (first: line \($0.line), column \($0.column): \($0.rule))" } ?? ""
                throw IngestError.refused(
                    "--all-or-nothing: \(summary.rowsQuarantined) of \(summary.rowsRead) rows are bad\(first); nothing was loaded")
            }
            summary.seconds = Date().timeIntervalSince(started)
            try db.execute(
                sql: """
                    UPDATE batch SET finished_at = ?, rows_read = ?, rows_accepted = ?, rows_quarantined = ?,
                        values_written = ?, values_unchanged = ? WHERE id = ?
                    """,
                arguments: [
                    Int64(Date().timeIntervalSince1970), summary.rowsRead, summary.rowsAccepted, summary.rowsQuarantined,
                    summary.valuesWritten, summary.valuesUnchanged, batch,
                ])
        }
        options.progress?(summary.rowsRead, reader.bytesRead)
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    static func sha256Hex(of file: URL) throws -> String {
        guard let handle = try? FileHandle(forReadingFrom: file) else { throw IngestError.input("cannot read \(file.path)") }
        defer { try? handle.close() }
        var hasher = SHA256.Hasher()
        while let chunk = try handle.read(upToCount: 1 << 22), !chunk.isEmpty {
            hasher.update(Array(chunk))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
