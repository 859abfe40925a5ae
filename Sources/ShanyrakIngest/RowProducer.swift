internal import Foundation
internal import ShanyrakCore
internal import ShanyrakCrypto
internal import ShanyrakStore

/// A row that passed validation, with everything the writer needs.
struct AcceptedRow {
    let line: Int
    let subject: Pseudonym
    let observedAt: String
    let household: (pseudonym: Pseudonym, district: String, relation: String)?
    /// Every value of the row, sealed in format 3 (bound to the row's date and source; the iv is the
    /// MAC), for the writer to drop those already stored.
    let payload: RecordPayload
    /// On a source's first delivery, the subject was not met before in this batch, so nothing
    /// about it is stored and the writer need not look (a Bloom filter: it may say "met"
    /// wrongly, never "not met" wrongly).
    let certainlyNew: Bool
    /// The raw line, kept only for sources that do not register persons: the writer
    /// quarantines it when the person is not in the register.
    let rawLine: [UInt8]
}

/// One row's outcome from the producer.
enum PreparedRow {
    case accepted(AcceptedRow)
    case rejected(line: Int, column: String, rule: String, sealedLine: [UInt8])
}

/// A chunk of prepared rows and how far into the file it reaches.
struct PreparedChunk {
    var rows: [PreparedRow] = []
    var bytesRead = 0
    /// Every value of the accepted rows, counted here rather than on the writer thread.
    var valueCounts = ValueCounts()
}

/// A bounded hand-over queue between the producer thread and the writer.
///
/// `@unchecked Sendable`: every field is guarded by `condition`.
final class PreparedChunkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [PreparedChunk] = []
    /// Chunks the writer is done with, waiting for the producer to free them.
    private var spent: [PreparedChunk] = []
    private var finished = false
    private var cancelled = false
    private var failure: (any Error)?
    private var digest: [UInt8]?
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Adds a chunk, waiting while the queue is full. Returns false when the consumer has gone.
    func put(_ chunk: PreparedChunk) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        chunks.append(chunk)
        condition.broadcast()
        return true
    }

    /// The producer is done, successfully (with the file's keyed digest) or with `error`.
    func finish(error: (any Error)?, fileDigest: [UInt8]? = nil) {
        condition.lock()
        finished = true
        failure = error
        digest = fileDigest
        condition.broadcast()
        condition.unlock()
    }

    /// The consumer stops; a waiting producer wakes and stops too.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    /// The keyed digest of the whole file, once `take` has returned nil.
    var fileDigest: [UInt8]? {
        condition.lock()
        defer { condition.unlock() }
        return digest
    }

    /// Hands a consumed chunk back, so that its rows are freed on the producer's thread:
    /// the writer thread is the slower one, and freeing memory another thread allocated
    /// costs it locks in the allocator.
    func giveBack(_ chunk: consuming PreparedChunk) {
        condition.lock()
        spent.append(chunk)
        condition.unlock()
    }

    /// Removes the chunks given back; they are freed when the caller drops them.
    func takeSpent() -> [PreparedChunk] {
        condition.lock()
        defer { condition.unlock() }
        let out = spent
        spent = []
        return out
    }

    /// The next chunk, nil at the end; rethrows the producer's error.
    func take() throws -> PreparedChunk? {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty && !finished { condition.wait() }
        if !chunks.isEmpty {
            let chunk = chunks.removeFirst()
            condition.broadcast()
            return chunk
        }
        if let failure { throw failure }
        return nil
    }
}

/// Reads, validates, pseudonymises and seals rows on its own thread.
struct RowProducer: Sendable {
    let file: URL
    let layout: RowLayout
    let mapping: SourceMapping
    let catalog: IndicatorCatalog
    let pseudonymiser: Pseudonymiser
    let keys: DataKeys
    let numbers: [String: Int64]
    let quarantineKey: SecureBytes
    /// The `valuemac` key: keys the file digest.
    let macKey: SecureBytes

    func run(batch: Int64, firstDelivery: Bool, into queue: PreparedChunkQueue) {
        do {
            let digest = try produce(batch: batch, firstDelivery: firstDelivery, into: queue)
            queue.finish(error: nil, fileDigest: digest)
        } catch {
            queue.finish(error: error)
        }
    }

    /// - Returns: the keyed digest of the file (nil when the consumer went away first).
    private func produce(batch: Int64, firstDelivery: Bool, into queue: PreparedChunkQueue) throws -> [UInt8]? {
        var seen = firstDelivery ? SubjectFilter() : nil
        let digest = try KeyedBLAKE2b.Hasher(key: macKey)
        var reader = try CSVLineReader(url: file, digest: digest)
        _ = try reader.nextLine()  // header, checked by the caller
        var sealer = ValueSealer()
        var chunk = PreparedChunk()
        chunk.rows.reserveCapacity(1024)
        /// Registry number and key (with its version and iv key) of an indicator: looked up once, not per value.
        struct Target {
            let number: Int64
            let key: ValueKey
        }
        func target(_ indicator: Indicator) throws -> Target {
            guard let number = numbers[indicator.id],
                let key = keys.writeValueKey(for: indicator.indicatorClass.rawValue)
            else { throw IngestError.configuration("no key or registry number for \(indicator.id)") }
            return Target(number: number, key: key)
        }
        let columnTargets = try layout.columns.map { try target($0.indicator) }
        var longFormatTargets: [String: Target] = [:]
        for indicator in catalog.indicators where indicator.sources.contains(mapping.source) {
            longFormatTargets[indicator.id] = try target(indicator)
        }
        let keepRawLine = !mapping.registersPersons

        func reject(_ line: ArraySlice<UInt8>, _ number: Int, _ column: String, _ rule: String) throws -> PreparedRow {
            let sealed = try XChaCha20Poly1305.seal(
                Array(line), associatedData: Registry.quarantineAssociatedData(batch: batch, line: number),
                key: quarantineKey)
            return .rejected(line: number, column: column, rule: rule, sealedLine: sealed)
        }

        while let line = try reader.nextLine() {
            if line.isEmpty { continue }
            let number = reader.lineNumber
            let prepared: PreparedRow
            switch CSVLineReader.fields(of: line) {
            case .failure(let malformed):
                prepared = try reject(line, number, "*", "malformed CSV at field \(malformed.field): \(malformed.rule)")
            case .success(let fields):
                switch layout.validate(fields, mapping: mapping, catalog: catalog, pseudonymiser: pseudonymiser) {
                case .failure(let problem):
                    prepared = try reject(line, number, problem.column, problem.rule)
                case .success(let row):
                    var payload = RecordPayload()
                    for value in row.values {
                        guard let t = value.slot.map({ columnTargets[$0] }) ?? longFormatTargets[value.indicator] else {
                            throw IngestError.configuration("no key or registry number for \(value.indicator)")
                        }
                        try payload.appendSealing(
                            value.value, indicator: t.number, indicatorID: value.indicator, subject: row.subject,
                            observedAt: row.observedAt, source: mapping.source, key: t.key, sealer: &sealer)
                        chunk.valueCounts.add(indicator: t.number, keyVersion: t.key.version)
                    }
                    prepared = .accepted(
                        AcceptedRow(
                            line: number, subject: row.subject, observedAt: row.observedAt, household: row.household,
                            payload: payload, certainlyNew: seen?.insert(row.subject) ?? false,
                            rawLine: keepRawLine ? Array(line) : []))
                }
            }
            chunk.rows.append(prepared)
            if chunk.rows.count == 1024 {
                chunk.bytesRead = reader.bytesRead
                guard queue.put(chunk) else { return nil }
                chunk = PreparedChunk()
                chunk.rows.reserveCapacity(1024)
                _ = queue.takeSpent()  // freed here, on this thread
            }
        }
        chunk.bytesRead = reader.bytesRead
        _ = queue.put(chunk)
        return digest.finalize()
    }
}
