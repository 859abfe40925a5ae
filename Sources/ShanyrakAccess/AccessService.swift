public import Foundation
public import ShanyrakCore
public import ShanyrakCrypto
public import ShanyrakStore

/// The one path to record data, used by the server and the command line alike.
///
/// Every read goes: authenticate, compute the context facts (assigned from the
/// caseload, same district), decide per indicator through the `AccessPolicy`, fetch
/// only the granted values (newest observation wins), unseal them, build the view,
/// append the audit entry and await its durability, and only then return the view.
/// A denial, for whatever reason, throws `AccessDenied` after it too is audited.
/// When the audit log cannot be written, `AuditLogUnavailable` is thrown and
/// nothing is returned.
public struct AccessService: Sendable {
    private let registry: Registry
    private let keys: CurrentDataKeys
    private let catalog: IndicatorCatalog
    private let policy: any AccessPolicy
    private let auditLog: any AccessAuditLog
    private let pseudonymiser: Pseudonymiser?
    private let clock: @Sendable () -> Date
    /// The catalog's indicators that may ever be on a household card, in catalog order
    /// (computed once: the catalog does not change for the life of the service).
    private let householdCandidates: [String]
    /// Every catalog indicator id, in catalog order: what a person view asks about.
    private let personCandidates: [String]
    /// The ids of a household view's audit entry, in sorted order, with what puts each there.
    private let householdAuditOrder: [(id: String, candidate: Int?, isShape: Bool)]
    /// What the access path knows about each catalog indicator, in catalog order (`personCandidates`' order).
    private let slots: [IndicatorSlot]
    /// The slot of each household candidate, by candidate position.
    private let householdCandidateSlots: [Int]
    /// The slot of each shape indicator, in `shapeIndicators` order.
    private let shapeSlots: [Int]
    /// The ids a household card accepts under `catalog` (the card's own checks, run once), in JSON order.
    private let permitted: HouseholdView.Permitted
    /// Every catalog indicator in the order a person view's JSON writes them.
    private let personOrder: CanonicalIndicatorOrder
    /// Principals of recently authenticated tokens (see `authenticationCacheLifetime` in `init`).
    private let authentication: AuthenticationCache

    /// What the access path needs to know about an indicator to open and place its values. A view asks the
    /// registry for a list of indicators and keeps, for each position in it, the slot's index: each value
    /// read comes back with its position, so nothing is looked up by id per value.
    private struct IndicatorSlot {
        /// The indicator id.
        let id: String
        /// The position of its class in `CurrentDataKeys.Loaded.keysByClass`.
        let keyClass: Int
        /// Its position in `householdCandidates`, if it is one.
        let householdCandidate: Int?
        /// Its position in `permitted.order`, where a card takes its value (household candidates only).
        let cardPosition: Int?
        /// Its position in `personOrder`, where a person view takes its value.
        let personPosition: Int
        /// The part of every view's fixed shape it gives, if any.
        let shape: Shape?
    }

    /// The parts of a view's fixed shape read from indicators (`shapeIndicators`).
    private enum Shape {
        case sex, birthDate

        /// The part `indicator` gives, if any.
        init?(indicator: String) {
            switch indicator {
            case "demographic.sex": self = .sex
            case "identity.birth_date": self = .birthDate
            default: return nil
            }
        }
    }

    /// Indicators read for the fixed shape of every view (sex and age band).
    static let shapeIndicators = ["demographic.sex", "identity.birth_date"]

    /// Creates the service.
    /// - Parameters:
    ///   - registry: the registry database.
    ///   - keys: the data keys; each request uses the set loaded when it begins (see `CurrentDataKeys`).
    ///   - catalog: the indicator catalog.
    ///   - policy: the policy engine.
    ///   - auditLog: the audit log; every request is appended to it before anything is released.
    ///   - pseudonymiser: needed only for `findHousehold` (IIN or register id lookups).
    ///   - clock: the time used for audit entries and age bands.
    ///   - authenticationCacheLifetime: how long a successful authentication is remembered (by the token's
    ///     hash, on the monotonic clock) before the staff table is read again; zero reads it every time.
    ///     A revocation through `revokeStaff` takes effect at once; one made by another process on the same
    ///     registry (the command line) takes effect within this lifetime. Unknown and revoked tokens are never
    ///     remembered.
    public init(
        registry: Registry, keys: CurrentDataKeys, catalog: IndicatorCatalog, policy: any AccessPolicy,
        auditLog: any AccessAuditLog, pseudonymiser: Pseudonymiser? = nil,
        clock: @escaping @Sendable () -> Date = { Date() },
        authenticationCacheLifetime: Duration = AccessService.defaultAuthenticationCacheLifetime
    ) {
        self.registry = registry
        self.keys = keys
        self.catalog = catalog
        self.policy = policy
        self.auditLog = auditLog
        self.pseudonymiser = pseudonymiser
        self.clock = clock
        let householdCandidates = catalog.indicators.map(\.id).filter { HouseholdView.mayAppear($0, catalog: catalog) }
        self.householdCandidates = householdCandidates
        self.personCandidates = catalog.indicators.map(\.id)
        let permitted = HouseholdView.Permitted(catalog: catalog)
        self.permitted = permitted
        let personOrder = CanonicalIndicatorOrder(catalog.indicators.map(\.id))
        self.personOrder = personOrder
        /// Position of each id in a list.
        func positions(_ ids: [String]) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
        }
        let candidatePosition = positions(householdCandidates)
        // `permitted` holds the same ids as `householdCandidates` (both by `HouseholdView.mayAppear`).
        let cardPosition = positions(permitted.order.ids)
        let personPosition = positions(personOrder.ids)
        var slots: [IndicatorSlot] = []
        var slotByID: [String: Int] = [:]
        for indicator in catalog.indicators {
            // The person view's order is made of the catalog's ids, so every id has a position in it.
            guard let inPersonView = personPosition[indicator.id] else {
                preconditionFailure("the person view's order lacks a catalog id")
            }
            // Every indicator class is a data-key class.
            guard let keyClass = CurrentDataKeys.Loaded.classIndex(of: indicator.indicatorClass.rawValue) else {
                preconditionFailure("an indicator class has no data keys")
            }
            slotByID[indicator.id] = slots.count
            slots.append(
                IndicatorSlot(
                    id: indicator.id, keyClass: keyClass,
                    householdCandidate: candidatePosition[indicator.id], cardPosition: cardPosition[indicator.id],
                    personPosition: inPersonView, shape: Shape(indicator: indicator.id)))
        }
        self.slots = slots
        // Household candidates are catalog ids, and every catalog id has a slot.
        self.householdCandidateSlots = householdCandidates.map { id in
            guard let slot = slotByID[id] else { preconditionFailure("a household candidate has no slot") }
            return slot
        }
        // A catalog without a shape indicator has no slot for it: that part of every view stays unknown.
        self.shapeSlots = Self.shapeIndicators.compactMap { slotByID[$0] }
        let auditIDs = Set(householdCandidates).union(Self.shapeIndicators).sorted()
        self.householdAuditOrder = auditIDs.map { ($0, candidatePosition[$0], Self.shapeIndicators.contains($0)) }
        self.authentication = AuthenticationCache(lifetime: authenticationCacheLifetime)
    }

    /// The default of `init`'s `authenticationCacheLifetime`: one second.
    public static let defaultAuthenticationCacheLifetime: Duration = .seconds(1)

    // MARK: Authentication

    /// The active account whose token this is, or nil (unknown or revoked token).
    ///
    /// The token's SHA-256 is looked up, then compared with the stored hash in
    /// constant time; an unknown token costs the same comparison against a dummy.
    /// A successful authentication is remembered by the token's hash for the service's authentication
    /// cache lifetime (see `init`), so the staff table is not read on every request.
    /// - Parameter token: the bearer token as presented.
    /// - Returns: the account's principal, or nil.
    /// - Throws: a database error.
    public func authenticate(token: String) throws -> Principal? {
        let presented = StaffToken.hash(token)
        if let remembered = authentication.principal(tokenHash: presented) { return remembered }
        let ticket = authentication.ticket()
        let found = try registry.staff(tokenHash: presented)
        let stored = found?.storedHash ?? [UInt8](repeating: 0, count: presented.count)
        let matches = constantTimeEquals(presented, stored)
        guard matches, let record = found?.record, record.revokedAt == nil, let role = Role(rawValue: record.role)
        else { return nil }
        let principal = Principal(
            id: record.id, role: role, district: record.district, organisation: record.organisation,
            source: record.source)
        authentication.store(principal, tokenHash: presented, ticket: ticket)
        return principal
    }

    /// Records a failed authentication (wrong, revoked or missing token) without the token, with what the
    /// request tried to do (`action`, `view`).
    /// - Parameter occurrences: for a summary of throttled failures of the same kind, how many there were
    ///   (`requestID` is then the first one's); 1 for a single failure.
    /// - Throws: `AuditLogUnavailable` when it could not be recorded.
    public func recordFailedAuthentication(
        requestID: String, action: AccessAction = .read, view: ViewKind = .household, occurrences: UInt64 = 1
    ) async throws {
        let entry = AccessAuditEntry(
            time: now(), actor: nil, role: nil, action: action, view: view, subjects: [], indicators: [],
            decision: .deny, policyIDs: [], requestID: requestID, occurrences: occurrences > 1 ? occurrences : nil)
        try await audited(entry) { () }
    }

    // MARK: Views

    /// The survivor-safe household card of `householdID` (32 hex digits).
    /// - Throws: `AccessDenied` (audited) when the household does not exist or policy
    ///   grants nothing; `AuditLogUnavailable` when the log cannot be written.
    public func householdView(principal: Principal, householdID: String, requestID: String) async throws
        -> HouseholdView
    {
        // One read transaction: structure, assignment, the decision, and only the granted values, each
        // opened where SQLite holds it. Only indicators that may ever be on a card are asked about; the
        // card's type refuses the rest anyway.
        let candidates = householdCandidates
        // granted[i]: whether candidates[i] is granted (by position, not by id).
        var granted: [Bool] = []
        // The slot of each indicator asked of the registry, by its position in the request.
        var requested: [Int] = []
        var members: [(pseudonym: Pseudonym, relation: String)] = []
        // Values by member position, each placed by `permitted`'s order; sex and birth date aside (the card
        // shows them as sex and age band).
        var values: [[String?]] = []
        var sex: [String?] = []
        var birthDate: [String?] = []
        guard let household = Pseudonym(hex: householdID),
            let snapshot = try await readRecordingFailure(
                principal, .household, subject: householdID, requestID: requestID,
                { keys in
                    try registry.householdSnapshot(
                        household, staffID: principal.id,
                        select: { record, assigned -> (AccessDecision, [String]) in
                            // The read runs again after a reload of the data keys: it starts afresh.
                            requested = []
                            members = []
                            let context = AccessContext(
                                view: .household, assigned: assigned,
                                sameDistrict: principal.district == record.district)
                            let decision = try decide(principal, .read, context, candidates)
                            granted = [Bool](repeating: false, count: candidates.count)
                            requested.reserveCapacity(candidates.count + shapeSlots.count)
                            if !decision.allowed.isEmpty {
                                for (i, id) in candidates.enumerated() where decision.allowed.contains(id) {
                                    granted[i] = true
                                    requested.append(householdCandidateSlots[i])
                                }
                            }
                            guard !requested.isEmpty else { return (decision, []) }
                            requested += shapeSlots
                            members = record.members
                            values = [[String?]](
                                repeating: [String?](repeating: nil, count: permitted.order.ids.count),
                                count: members.count)
                            sex = [String?](repeating: nil, count: members.count)
                            birthDate = [String?](repeating: nil, count: members.count)
                            return (decision, requested.map { slots[$0].id })
                        },
                        observe: { observation in
                            guard let m = members.firstIndex(where: { $0.pseudonym == observation.subject }) else {
                                return
                            }
                            let slot = requested[observation.requested]
                            let value = try unseal(observation, slot: slot, keys: keys)
                            switch slots[slot].shape {
                            case .sex: sex[m] = value
                            case .birthDate: birthDate[m] = value
                            case nil: break
                            }
                            if let c = slots[slot].householdCandidate, granted[c],
                                let position = slots[slot].cardPosition
                            {
                                values[m][position] = value
                            }
                        })
                })
        else {
            try await deny(principal, .household, subjects: [householdID], policyIDs: [], requestID: requestID)
        }
        let record = snapshot.record
        let decision = snapshot.decision
        guard granted.contains(true) else {
            try await deny(
                principal, .household, subjects: [household.hex], policyIDs: decision.policyIDs, requestID: requestID)
        }
        let today = clock()
        var inputs: [HouseholdView.PermittedMemberInput] = []
        inputs.reserveCapacity(members.count)
        for (m, member) in members.enumerated() {
            inputs.append(
                HouseholdView.PermittedMemberInput(
                    pseudonym: member.pseudonym, relation: member.relation, sex: sex[m],
                    ageBand: AgeBand.of(birthDate: birthDate[m], on: today), values: values[m]))
        }
        let view = try HouseholdView(
            household: household, district: record.district, members: inputs, permitted: permitted)
        // The disclosed ids as `(granted + shapeIndicators).sorted()` would list them, without sorting.
        var disclosed: [String] = []
        disclosed.reserveCapacity(householdAuditOrder.count + Self.shapeIndicators.count)
        for (id, candidate, isShape) in householdAuditOrder {
            if let candidate, granted[candidate] { disclosed.append(id) }
            if isShape { disclosed.append(id) }
        }
        var subjects: [String] = []
        subjects.reserveCapacity(members.count + 1)
        subjects.append(household.hex)
        for member in members { subjects.append(member.pseudonym.hex) }
        let entry = AccessAuditEntry(
            time: now(), actor: principal.id, role: principal.role, action: .read, view: .household,
            subjects: subjects, indicators: disclosed, decision: .allow, policyIDs: decision.policyIDs,
            requestID: requestID)
        return try await audited(entry) { view }
    }

    /// The person view of `personID` (32 hex digits) within the caller's caseload.
    /// - Throws: `AccessDenied` (audited) or `AuditLogUnavailable`.
    public func personView(principal: Principal, personID: String, requestID: String) async throws -> PersonView {
        try await personView(principal: principal, personID: personID, breakGlass: nil, requestID: requestID)
    }

    /// A person view beyond the caller's caseload, with a written justification, where policy allows it.
    /// The audit entry is flagged and holds the justification sealed.
    /// - Throws: `AccessDenied` (audited) for an empty justification or when policy refuses;
    ///   `AuditLogUnavailable`.
    public func breakGlassPersonView(principal: Principal, personID: String, justification: String, requestID: String)
        async throws -> PersonView
    {
        try await personView(principal: principal, personID: personID, breakGlass: justification, requestID: requestID)
    }

    private func personView(principal: Principal, personID: String, breakGlass: String?, requestID: String)
        async throws -> PersonView
    {
        if let breakGlass, let rule = Self.justificationProblem(breakGlass) {
            // Recorded as a denied break-glass read, without the text: it is no justification.
            try await recordDenial(
                principal, .person, subjects: [personID], policyIDs: [], requestID: requestID, breakGlass: true)
            throw InvalidJustification(rule: rule)
        }
        let sealedJustification = try breakGlass.map { try seal(justification: $0, requestID: requestID) }
        let isBreakGlass = breakGlass != nil
        // One read transaction: the person, the assignment, the decision, and only the granted values,
        // each opened where SQLite holds it.
        let candidates = personCandidates
        // The slot of each indicator asked of the registry, by its position in the request; the first
        // `grantedCount` are the granted ones, the rest the shape's.
        var requested: [Int] = []
        var grantedCount = 0
        // Granted values placed by `personOrder`; sex and birth date aside.
        var values: [String?] = []
        var sex: String?
        var birthDate: String?
        guard let person = Pseudonym(hex: personID),
            let snapshot = try await readRecordingFailure(
                principal, .person, subject: personID, requestID: requestID, breakGlass: isBreakGlass,
                { keys in
                    try registry.personSnapshot(
                        person, staffID: principal.id,
                        select: { record, assigned -> ((decision: AccessDecision, granted: [String]), [String]) in
                            // The read runs again after a reload of the data keys: it starts afresh.
                            requested = []
                            grantedCount = 0
                            values = [String?](repeating: nil, count: personOrder.ids.count)
                            (sex, birthDate) = (nil, nil)
                            let context = AccessContext(
                                view: .person, assigned: assigned, sameDistrict: principal.district == record.district,
                                breakGlass: isBreakGlass)
                            let decision = try decide(principal, .read, context, candidates)
                            // Person candidates are the catalog in order, so a candidate's position is its slot.
                            var granted: [String] = []
                            for (slot, id) in candidates.enumerated() where decision.allowed.contains(id) {
                                granted.append(id)
                                requested.append(slot)
                            }
                            guard !granted.isEmpty else { return ((decision, granted), []) }
                            grantedCount = requested.count
                            requested += shapeSlots
                            return ((decision, granted), requested.map { slots[$0].id })
                        },
                        observe: { observation in
                            let slot = requested[observation.requested]
                            let value = try unseal(observation, slot: slot, keys: keys)
                            switch slots[slot].shape {
                            case .sex: sex = value
                            case .birthDate: birthDate = value
                            case nil: break
                            }
                            // An id asked twice comes back at its first position: a granted shape indicator is shown too.
                            if observation.requested < grantedCount { values[slots[slot].personPosition] = value }
                        })
                })
        else {
            try await deny(
                principal, .person, subjects: [personID], policyIDs: [], requestID: requestID, breakGlass: isBreakGlass,
                justification: sealedJustification)
        }
        let record = snapshot.record
        let (decision, granted) = snapshot.decision
        guard !granted.isEmpty else {
            try await deny(
                principal, .person, subjects: [person.hex], policyIDs: decision.policyIDs, requestID: requestID,
                breakGlass: isBreakGlass, justification: sealedJustification)
        }
        let view = PersonView(
            person: person, household: record.household, relation: record.relation, sex: sex,
            ageBand: AgeBand.of(birthDate: birthDate, on: clock()), indicators: personOrder.list(values))
        let entry = AccessAuditEntry(
            time: now(), actor: principal.id, role: principal.role, action: .read, view: .person,
            subjects: [person.hex, record.household.hex],
            indicators: Array(Set(granted + Self.shapeIndicators)).sorted(),
            decision: .allow, policyIDs: decision.policyIDs, requestID: requestID, breakGlass: isBreakGlass,
            justification: sealedJustification)
        return try await audited(entry) { view }
    }

    /// Whether `principal`'s account still exists and is not revoked, read now (not from the
    /// authentication cache): for work that began with an authentication and went on for a while,
    /// such as a feed whose body arrived slowly.
    /// - Throws: a database error.
    public func isActive(_ principal: Principal) throws -> Bool {
        try registry.isActiveStaff(id: principal.id)
    }

    /// The caller's caseload. Audited; any authenticated caller may see their own (it may be empty).
    /// - Throws: `AuditLogUnavailable`, or a database error.
    public func caseload(principal: Principal, requestID: String) async throws -> Caseload {
        let rows = try registry.assignedHouseholds(staffID: principal.id)
        let caseload = Caseload(households: rows.map { Caseload.Entry(household: $0.household, district: $0.district) })
        let entry = AccessAuditEntry(
            time: now(), actor: principal.id, role: principal.role, action: .read, view: .caseload,
            subjects: rows.map(\.household.hex), indicators: [], decision: .allow, policyIDs: [], requestID: requestID)
        return try await audited(entry) { caseload }
    }

    // MARK: Administration

    /// How an administrator names a household.
    public enum HouseholdSelector: Sendable, Hashable {
        /// The service pseudonym (32 hex digits).
        case id(String)
        /// A member's IIN.
        case iin(IIN)
        /// The population register's household id.
        case registerID(String)
    }

    /// Resolves a selector to the household's pseudonym, and records the lookup.
    /// - Parameter actor: the administrator (nil for the local command line operator).
    /// - Throws: `AccessDenied` (audited) when no household matches; `AuditLogUnavailable`;
    ///   `AccessFailure` when the service has no pseudonymiser.
    public func findHousehold(_ selector: HouseholdSelector, actor: Principal?, requestID: String) async throws
        -> Pseudonym
    {
        let household = try resolve(selector)
        let entry = AccessAuditEntry(
            time: now(), actor: actor?.id, role: actor?.role ?? .administrator, action: .find, view: .administration,
            subjects: household.map { [$0.hex] } ?? [], indicators: [], decision: household == nil ? .deny : .allow,
            policyIDs: [], requestID: requestID)
        return try await audited(entry) { () throws -> Pseudonym in
            guard let household else { throw AccessDenied() }
            return household
        }
    }

    /// Adds (`assigned` true) or removes a household from a staff member's caseload, and records the change.
    /// - Returns: whether anything changed.
    /// - Throws: `AccessDenied` (audited) for an unknown household or account; `AuditLogUnavailable`.
    @discardableResult
    public func setAssignment(
        staffID: Int64, household selector: HouseholdSelector, assigned: Bool, actor: Principal?, requestID: String
    ) async throws -> Bool {
        let household = try resolve(selector)
        let staffExists = try registry.staff(id: staffID) != nil
        guard let household, staffExists else {
            try await deny(
                actor, .administration, action: .assign, subjects: household.map { [$0.hex] } ?? [], policyIDs: [],
                requestID: requestID)
        }
        // Record first: a change that cannot be audited is not made.
        let entry = AccessAuditEntry(
            time: now(), actor: actor?.id, role: actor?.role ?? .administrator, action: .assign, view: .administration,
            subjects: [household.hex], indicators: [], decision: .allow,
            policyIDs: [assigned ? "assign" : "unassign"], requestID: requestID)
        try await audited(entry) { () }
        return assigned
            ? try registry.assign(staffID: staffID, household: household)
            : try registry.unassign(staffID: staffID, household: household)
    }

    /// Creates a staff account and returns its token: the only time the token exists outside the caller.
    /// Only the token's hash is stored. Recorded in the audit log before the account is made.
    /// - Returns: the account id and the token.
    /// - Throws: `AuditLogUnavailable`, or a database error.
    public func addStaff(
        name: String, role: Role, district: String?, organisation: String?, source: String?, actor: Principal?,
        requestID: String
    ) async throws -> (id: Int64, token: String) {
        let entry = AccessAuditEntry(
            time: now(), actor: actor?.id, role: actor?.role ?? .administrator, action: .administer,
            view: .administration, subjects: [], indicators: [], decision: .allow,
            policyIDs: ["users.add." + role.rawValue],
            requestID: requestID)
        try await audited(entry) { () }
        let token = StaffToken.generate()
        let id = try registry.addStaff(
            name: name, role: role.rawValue, district: district, organisation: organisation, source: source,
            tokenHash: StaffToken.hash(token), now: clock())
        return (id, token)
    }

    /// Revokes a staff account: its token stops working at once. Recorded in the audit log first.
    /// - Returns: false when there is no such active account.
    /// - Throws: `AuditLogUnavailable`, or a database error.
    public func revokeStaff(id: Int64, actor: Principal?, requestID: String) async throws -> Bool {
        let entry = AccessAuditEntry(
            time: now(), actor: actor?.id, role: actor?.role ?? .administrator, action: .administer,
            view: .administration, subjects: ["staff:\(id)"], indicators: [], decision: .allow,
            policyIDs: ["users.revoke"], requestID: requestID)
        try await audited(entry) { () }
        defer { authentication.remove(staffID: id) }
        return try registry.revokeStaff(id: id, now: clock())
    }

    /// Gives an active account a new token, for a token that was lost or may have been seen: the old token
    /// stops working at once in this service, and within the authentication cache lifetime in a server on
    /// the same registry (see `init`). The account keeps its id, role and caseload, unlike a revocation
    /// followed by a new account. Recorded in the audit log before the token is replaced.
    /// - Returns: the new token (the only time it exists outside the caller), or nil when there is no such
    ///   active account; nothing is recorded then.
    /// - Throws: `AuditLogUnavailable` (the token is not replaced), or a database error.
    public func rotateToken(staffID id: Int64, actor: Principal?, requestID: String) async throws -> String? {
        guard try registry.isActiveStaff(id: id) else { return nil }
        let entry = AccessAuditEntry(
            time: now(), actor: actor?.id, role: actor?.role ?? .administrator, action: .administer,
            view: .administration, subjects: ["staff:\(id)"], indicators: [], decision: .allow,
            policyIDs: ["users.rotate-token"], requestID: requestID)
        try await audited(entry) { () }
        let token = StaffToken.generate()
        defer { authentication.remove(staffID: id) }
        guard try registry.replaceToken(id: id, tokenHash: StaffToken.hash(token)) else { return nil }
        return token
    }

    /// Every staff account (never tokens or their hashes).
    /// - Throws: a database error.
    public func listStaff() throws -> [StaffRecord] {
        try registry.listStaff()
    }

    private func resolve(_ selector: HouseholdSelector) throws -> Pseudonym? {
        let candidate: Pseudonym?
        switch selector {
        case .id(let hex):
            candidate = Pseudonym(hex: hex)
        case .iin(let iin):
            guard let pseudonymiser else { throw AccessFailure("this service cannot pseudonymise (no pseudonym key)") }
            candidate = try registry.personRecord(pseudonymiser.person(iin))?.household
        case .registerID(let id):
            guard let pseudonymiser else { throw AccessFailure("this service cannot pseudonymise (no pseudonym key)") }
            candidate = pseudonymiser.household(registerID: id)
        }
        guard let candidate, try registry.householdExists(candidate) else { return nil }
        return candidate
    }

    // MARK: Steps of the path

    private func now() -> Int64 { Int64(clock().timeIntervalSince1970) }

    private func decide(_ principal: Principal, _ action: AccessAction, _ context: AccessContext, _ ids: [String])
        throws
        -> AccessDecision
    {
        do {
            return try policy.decide(principal: principal, action: action, context: context, indicators: ids)
        } catch {
            // A policy that cannot be evaluated grants nothing.
            return AccessDecision(allowed: [], policyIDs: [])
        }
    }

    /// Opens one fetched observation, where the registry holds it, with its indicator's data key of the stored
    /// version and its record's stored date and source: a value of a record re-dated or re-sourced in the
    /// database does not open (format 3 binds both). A value in a sealed-value format below the registry's
    /// floor (`SealedFormatFloor`, loaded with the keys) is refused unopened, like one that does not open.
    private func unseal(_ observation: SealedObservationBytes, slot: Int, keys: CurrentDataKeys.Loaded) throws
        -> String
    {
        // One byte compare per value; an empty value has no format and fails to open below.
        guard observation.sealed.isEmpty || keys.keys.accepts(sealedFormat: observation.sealed[0]) else {
            throw AccessFailure(
                "a stored value is in a sealed-value format older than the registry accepts (put there after "
                    + "`keys rewrap` re-sealed every older value, from an older copy of the registry for instance)")
        }
        guard let key = keys.keysByClass[slots[slot].keyClass][observation.keyVersion] else {
            throw UnknownKeyVersion()
        }
        do {
            return try SealedValueFormat.open(
                observation.sealed, subject: observation.subject, indicator: observation.indicator,
                keyVersion: observation.keyVersion, observedAt: observation.observedAt, source: observation.source,
                key: key)
        } catch {
            throw AccessFailure("a stored value does not open (tampered, misplaced, or its record was altered)")
        }
    }

    /// The longest break-glass justification, in Unicode scalars (as JSON Schema's `maxLength` counts):
    /// a few paragraphs. It is sealed into an audit entry, and an entry has a size limit.
    public static let maximumJustificationLength = 1_024

    /// The rule `justification` breaks, or nil when it may be recorded.
    static func justificationProblem(_ justification: String) -> String? {
        if justification.unicodeScalars.allSatisfy(\.properties.isWhitespace) {
            return "the justification must not be blank"
        }
        if justification.unicodeScalars.count > maximumJustificationLength {
            return "the justification must be at most \(maximumJustificationLength) characters"
        }
        return nil
    }

    private func seal(justification: String, requestID: String) throws -> SealedJustification {
        try SealedJustification.seal(justification, requestID: requestID, keys: keys.current.keys)
    }

    /// Appends and awaits durability, then releases; a log failure becomes `AuditLogUnavailable`.
    private func audited<T: Sendable>(_ entry: AccessAuditEntry, release: @Sendable () throws -> T) async throws -> T {
        let released: Result<T, any Error>
        do {
            released = try await auditLog.recordThenRelease(entry) { () -> Result<T, any Error> in
                Result { try release() }
            }
        } catch {
            throw AuditLogUnavailable()
        }
        return try released.get()
    }

    private func deny(
        _ principal: Principal?, _ view: ViewKind, action: AccessAction = .read, subjects: [String],
        policyIDs: [String],
        requestID: String, breakGlass: Bool = false, justification: SealedJustification? = nil
    ) async throws -> Never {
        try await recordDenial(
            principal, view, action: action, subjects: subjects, policyIDs: policyIDs, requestID: requestID,
            breakGlass: breakGlass, justification: justification)
        throw AccessDenied()
    }

    /// Runs a view's registry read with the data keys loaded now, and once more with keys loaded anew when a
    /// value is sealed under a version they lack (`readReloadingKeys`). When it fails (a database error, a
    /// value that does not open), the attempt is recorded as a denial before the error goes on: nothing was
    /// released, and every access attempt is in the log.
    private func readRecordingFailure<T>(
        _ principal: Principal, _ view: ViewKind, subject: String, requestID: String, breakGlass: Bool = false,
        _ read: (CurrentDataKeys.Loaded) throws -> T
    ) async throws -> T {
        do {
            return try await readReloadingKeys(keys, read)
        } catch {
            try? await recordDenial(
                principal, view, subjects: [subject], policyIDs: [], requestID: requestID, breakGlass: breakGlass)
            throw error
        }
    }

    /// Appends a denial and awaits its durability.
    private func recordDenial(
        _ principal: Principal?, _ view: ViewKind, action: AccessAction = .read, subjects: [String],
        policyIDs: [String], requestID: String, breakGlass: Bool = false, justification: SealedJustification? = nil
    ) async throws {
        // A requested id that is not a pseudonym is not recorded verbatim: it could be anything a caller typed.
        let safeSubjects = subjects.map { Pseudonym(hex: $0) == nil ? "invalid" : $0 }
        let entry = AccessAuditEntry(
            time: now(), actor: principal?.id, role: principal?.role, action: action, view: view,
            subjects: safeSubjects,
            indicators: [], decision: .deny, policyIDs: policyIDs, requestID: requestID, breakGlass: breakGlass,
            justification: justification)
        try await audited(entry) { () }
    }
}
