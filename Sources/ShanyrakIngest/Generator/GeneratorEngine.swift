internal import Foundation
internal import ShanyrakCore

/// The generation loop: draws one household at a time and writes its rows to the six files.
struct GeneratorEngine {
    private var rng: Xoshiro256StarStar
    /// A separate stream for corruptions, so that `--error-rate` does not change the population.
    private var errorRNG: Xoshiro256StarStar
    private let seed: UInt64
    private let totalHouseholds: Int
    private let errorRate: Double
    private let population: CSVFileWriter
    private let labour: CSVFileWriter
    private let health: CSVFileWriter
    private let education: CSVFileWriter
    private let police: CSVFileWriter
    private let justice: CSVFileWriter

    private let pools = [NamePool.kazakh, NamePool.russian]
    private let regionCumulative: [Double]
    private let expMinusLambda: [Double]
    private let observed: [Int]
    private let observedBytes: [[UInt8]]
    private let referenceDay: Int
    private let firstSlotDay: Int
    /// IINs issued per (birth date, sex), to keep serials unique.
    private var serialCounters: [UInt16]
    private var digitScratch = [Int](repeating: 0, count: 12)
    private var members: [Person] = []
    private var householdIDOffset: Int

    private var persons = 0
    private var stats = GenerationSummary.Statistics()
    private var corruptions: [[Int]]

    static let sourceIndex = (population: 0, labour: 1, health: 2, education: 3, police: 4, justice: 5)

    init(generator: PopulationGenerator, writers: [CSVFileWriter]) {
        seed = generator.seed
        totalHouseholds = generator.households
        errorRate = generator.errorRate
        rng = Xoshiro256StarStar(seed: generator.seed)
        errorRNG = Xoshiro256StarStar(seed: generator.seed ^ 0x5EED_E220_0000_0001)
        population = writers[0]
        labour = writers[1]
        health = writers[2]
        education = writers[3]
        police = writers[4]
        justice = writers[5]
        var sum = 0.0
        regionCumulative = Region.householdWeights.map {
            sum += $0
            return sum
        }
        expMinusLambda = Region.all.map { region in
            // size = 1 with probability singleShare, else 2 + Poisson(lambda), so that the mean matches.
            let lambda = max(0.05, (region.meanHouseholdSize - region.singleShare) / (1 - region.singleShare) - 2)
            return exp(-lambda)
        }
        observed = PopulationGenerator.sources.map { generator.observedDay(source: $0) }
        observedBytes = PopulationGenerator.sources.map { Array(generator.observedOn(source: $0).utf8) }
        referenceDay = observed[0]
        firstSlotDay = CivilDate.days(year: 1900, month: 1, day: 1)
        serialCounters = [UInt16](repeating: 0, count: (referenceDay - firstSlotDay + 1) * 2)
        householdIDOffset = Int(SplitMix64.mix(generator.seed ^ 0x4855_5345_484F_4C44) % 1_000_000_000)
        corruptions = Array(repeating: Array(repeating: 0, count: CorruptionKind.allCases.count), count: 6)
        members.reserveCapacity(16)
    }

    // MARK: - Loop

    mutating func run(progress: ((GenerationProgress) -> Void)?) throws {
        for h in 0..<totalHouseholds {
            generateHousehold()
            try writeHousehold(index: h)
            if let progress, (h + 1) % 4096 == 0 || h + 1 == totalHouseholds {
                progress(GenerationProgress(households: h + 1, totalHouseholds: totalHouseholds, persons: persons))
            }
        }
    }

    func summary() -> GenerationSummary {
        let writers = [population, labour, health, education, police, justice]
        var files: [GenerationSummary.File] = []
        for (i, source) in PopulationGenerator.sources.enumerated() {
            var counts: [GenerationSummary.CorruptionCount] = []
            for (k, kind) in CorruptionKind.allCases.enumerated() where corruptions[i][k] > 0 {
                counts.append(GenerationSummary.CorruptionCount(kind: kind, rows: corruptions[i][k]))
            }
            files.append(
                GenerationSummary.File(
                    source: source, fileName: "\(source).csv", rows: writers[i].rows,
                    observedOn: String(decoding: observedBytes[i], as: UTF8.self), corruptions: counts,
                    corruptedRows: counts.reduce(0) { $0 + $1.rows }))
        }
        return GenerationSummary(
            households: totalHouseholds, persons: persons, seed: seed, errorRate: errorRate, files: files,
            statistics: stats)
    }

    // MARK: - Household state (current household)

    private var region = Region.all[0]
    private var regionIndex = 0
    private var district = 1
    private var urban = true
    private var address: [UInt8] = []
    private var tenure: Tenure = .owned
    private var waitingList = false
    private var tsa = false
    private var largeFamily = false

    // MARK: - Composition

    private mutating func add(_ relation: Relation, male: Bool, age: Int) -> Int {
        var p = Person()
        p.relation = relation
        p.male = male
        p.age = min(max(age, 0), 95)
        members.append(p)
        return members.count - 1
    }

    private mutating func generateHousehold() {
        members.removeAll(keepingCapacity: true)
        regionIndex = rng.pick(cumulative: regionCumulative)
        region = Region.all[regionIndex]
        if region.isCity {
            urban = true
            district = 1 + rng.below(region.districts)
        } else {
            urban = rng.chance(region.cityShare)
            district = urban ? 1 : 2 + rng.below(region.districts - 1)
        }
        let size =
            rng.chance(region.singleShare)
            ? 1 : min(12, 2 + rng.poisson(expMinusLambda: expMinusLambda[regionIndex], cap: 10))
        if size >= 5 { stats.householdsOfFiveOrMore += 1 }
        compose(size: size)
        assignNames()
        assignIdentity()
        assignAttributes()
        assignHousehold()
        assignViolence()
        assignContact()
    }

    private mutating func compose(size: Int) {
        if size == 1 {
            let male = rng.chance(0.42)
            let old = rng.chance(0.45)
            let head = add(.head, male: male, age: old ? 60 + rng.below(16) + rng.below(17) : rng.int(in: 18...59))
            let age = members[head].age
            let r = rng.unit()
            if age >= 60 {
                members[head].marital = r < (male ? 0.35 : 0.62) ? .widowed : r < 0.85 ? .divorced : .single
            } else {
                members[head].marital = r < 0.62 ? .single : r < 0.92 ? .divorced : .married
            }
            return
        }
        let headMale = rng.chance(size >= 3 ? 0.78 : 0.62)
        let couple = headMale ? rng.chance(0.86) : rng.chance(0.18)
        let elderHead = rng.chance(size == 2 ? 0.4 : 0.2)
        let headAge = elderHead ? 55 + rng.below(16) + rng.below(16) : rng.int(in: 25...56)
        let head = add(.head, male: headMale, age: headAge)
        var motherAge = headMale ? -1 : headAge
        if couple {
            let spouseAge = headMale ? headAge - rng.int(in: -2...6) : headAge + rng.int(in: -2...6)
            let spouse = add(.spouse, male: !headMale, age: max(18, spouseAge))
            members[head].marital = .married
            members[spouse].marital = .married
            if headMale { motherAge = members[spouse].age }
        } else {
            let r = rng.unit()
            members[head].marital =
                headAge >= 55
                ? (r < 0.6 ? .widowed : r < 0.9 ? .divorced : .single)
                : (r < 0.55 ? .divorced : r < 0.7 ? .widowed : .single)
        }
        var remaining = size - members.count
        // Parents of the head living with the family (common in the south).
        if remaining >= 2 && headAge <= 50 && rng.chance(region.singleShare < 0.12 ? 0.35 : 0.2) {
            let both = remaining >= 3 && rng.chance(0.45)
            let motherOfHead = add(.parent, male: false, age: headAge + rng.int(in: 22...32))
            if both {
                let fatherOfHead = add(.parent, male: true, age: members[motherOfHead].age + rng.int(in: 0...5))
                members[motherOfHead].marital = .married
                members[fatherOfHead].marital = .married
                remaining -= 2
            } else {
                members[motherOfHead].marital = rng.chance(0.8) ? .widowed : .divorced
                remaining -= 1
            }
        }
        // An older head with an adult son, his wife (the kelin) and their children.
        if headAge >= 50 && remaining >= 3 && rng.chance(0.6) {
            let son = add(.child, male: true, age: headAge - rng.int(in: 22...32))
            let kelin = add(.otherRelative, male: false, age: max(18, members[son].age - rng.int(in: 0...5)))
            members[son].marital = .married
            members[kelin].marital = .married
            remaining -= 2
            let parentAge = members[kelin].age
            for _ in 0..<remaining {
                _ = add(.grandchild, male: rng.chance(0.51), age: rng.int(in: 0...max(0, min(17, parentAge - 19))))
            }
            return
        }
        let parentAge = motherAge >= 0 ? motherAge : headAge
        for _ in 0..<remaining {
            let r = rng.unit()
            if r < 0.015 {
                let sib = add(.sibling, male: rng.chance(0.5), age: headAge + rng.int(in: -10...10))
                members[sib].marital = rng.chance(0.7) ? .single : .divorced
            } else if r < 0.03 {
                _ = add(.otherRelative, male: rng.chance(0.5), age: rng.int(in: 0...70))
            } else if r < 0.04 && size >= 3 {
                _ = add(.nonRelative, male: rng.chance(0.5), age: rng.int(in: 18...60))
            } else if headAge >= 50 && rng.chance(0.3) {
                _ = add(.grandchild, male: rng.chance(0.51), age: rng.int(in: 0...max(0, min(17, headAge - 42))))
            } else {
                let lo = max(0, parentAge - 45)
                let hi = max(lo, parentAge - 19)
                let child = add(.child, male: rng.chance(0.51), age: rng.int(in: lo...hi))
                if members[child].age >= 18 {
                    let m = rng.unit()
                    members[child].marital = m < 0.8 ? .single : m < 0.9 ? .divorced : .married
                }
            }
        }
        for i in members.indices where members[i].relation == .otherRelative || members[i].relation == .nonRelative {
            if members[i].age >= 18 && members[i].marital == .single && rng.chance(0.4) {
                members[i].marital = rng.chance(0.5) ? .married : .divorced
            }
        }
    }

    // MARK: - Names

    private mutating func assignNames() {
        let pool = rng.chance(region.slavicShare) ? 1 : 0
        let headIndex = 0
        let head = members[headIndex]
        let headSurname = rng.below(pools[pool].surnamesMale.count)
        let headFather = rng.below(pools[pool].maleFirst.count)
        var father = -1  // index of the male partner of the household's couple
        if head.male { father = headIndex }
        for i in members.indices where members[i].relation == .spouse && members[i].male { father = i }
        let foreign = rng.chance(0.015)

        for i in members.indices {
            var p = members[i]
            p.firstPool = pool
            p.surnamePool = pool
            p.fatherPool = pool
            p.first = randomFirst(pool: pool, male: p.male)
            p.surname = rng.below(pools[pool].surnamesMale.count)
            p.father = rng.below(pools[pool].maleFirst.count)
            switch p.relation {
            case .head:
                p.surname = headSurname
                p.father = headFather
            case .spouse:
                if rng.chance(0.1) {
                    // A spouse from the other pool.
                    let other = 1 - pool
                    p.firstPool = other
                    p.fatherPool = other
                    p.first = randomFirst(pool: other, male: p.male)
                    p.father = rng.below(pools[other].maleFirst.count)
                    p.surnamePool = other
                    p.surname = rng.below(pools[other].surnamesMale.count)
                }
                if !p.male && head.male && rng.chance(0.75) {
                    p.surnamePool = pool
                    p.surname = headSurname
                }
            case .child:
                if father >= 0 && father != i {
                    let f = members[father]
                    p.surnamePool = f.surnamePool
                    p.surname = f.surnamePool == pool && father == headIndex ? headSurname : f.surname
                    p.fatherPool = f.firstPool
                    p.father = f.first
                    p.firstPool = f.firstPool
                    p.first = randomFirst(pool: f.firstPool, male: p.male)
                } else if rng.chance(0.6) {
                    p.surname = headSurname
                }
            case .parent:
                p.surname = headSurname
                if p.male { p.first = headFather }
            case .sibling:
                p.surname = headSurname
                p.father = headFather
            case .grandchild:
                if let son = members.firstIndex(where: { $0.relation == .child && $0.male && $0.age >= 18 }), son < i {
                    p.surnamePool = members[son].surnamePool
                    p.surname = members[son].surname
                    p.fatherPool = members[son].firstPool
                    p.father = members[son].first
                } else if rng.chance(0.5) {
                    p.surname = headSurname
                }
            case .otherRelative:
                if !p.male && rng.chance(0.7) { p.surname = headSurname }
            case .nonRelative:
                break
            }
            if foreign && rng.chance(0.9) {
                p.citizenship = .foreign
            } else if rng.chance(0.002) {
                p.citizenship = .stateless
            }
            members[i] = p
        }
    }

    private mutating func randomFirst(pool: Int, male: Bool) -> Int {
        male ? rng.below(pools[pool].maleFirst.count) : rng.below(pools[pool].femaleFirst.count)
    }

    // MARK: - Birth dates and IINs

    private mutating func assignIdentity() {
        for i in members.indices {
            let age = members[i].age
            var day = referenceDay - age * 365 - age / 4 - rng.below(365)
            if CivilDate.age(born: day, on: referenceDay) < age { day -= 1 }
            var withoutPatronymic = rng.chance(members[i].citizenship == .kz ? 0.03 : 0.5)
            if members[i].relation == .head || members[i].relation == .spouse {
                withoutPatronymic = withoutPatronymic && rng.chance(0.5)
            }
            if withoutPatronymic { members[i].father = -1 }
            if members[i].father >= 0 && members[i].fatherPool == 0 {
                let year = CivilDate.civil(day).year
                members[i].kazakhPatronymic = rng.chance(year >= 2000 ? 0.35 : 0.08)
            }
            let issued = issueIIN(birthDay: day, male: members[i].male)
            members[i].birthDay = issued.day
            members[i].iin = issued.iin
            members[i].age = CivilDate.age(born: issued.day, on: referenceDay)
        }
    }

    /// Issues the next unused IIN for a birth date and sex: serial 1...7999, check digit per
    /// `IIN.checkDigit`; serials 8000...9998 are left for deliberately unknown persons.
    private mutating func issueIIN(birthDay: Int, male: Bool) -> (iin: Int, day: Int) {
        var day = birthDay
        while true {
            let slot = (day - firstSlotDay) * 2 + (male ? 0 : 1)
            let offset = Int(SplitMix64.mix(seed ^ UInt64(slot) &* 0x2545_F491_4F6C_DD1D) % 7999)
            while Int(serialCounters[slot]) < 7999 {
                let serial = 1 + (offset + Int(serialCounters[slot])) % 7999
                serialCounters[slot] += 1
                if let iin = makeIIN(day: day, male: male, serial: serial) { return (iin, day) }
            }
            day -= 1
        }
    }

    /// The IIN for a birth day, sex and serial, or nil when that number is never issued.
    private mutating func makeIIN(day: Int, male: Bool, serial: Int) -> Int? {
        let c = CivilDate.civil(day)
        let yy = c.year % 100
        let centurySex = (c.year >= 2000 ? 5 : 3) + (male ? 0 : 1)
        digitScratch[0] = yy / 10
        digitScratch[1] = yy % 10
        digitScratch[2] = c.month / 10
        digitScratch[3] = c.month % 10
        digitScratch[4] = c.day / 10
        digitScratch[5] = c.day % 10
        digitScratch[6] = centurySex
        digitScratch[7] = serial / 1000
        digitScratch[8] = serial / 100 % 10
        digitScratch[9] = serial / 10 % 10
        digitScratch[10] = serial % 10
        guard let check = IIN.checkDigit(digitScratch) else { return nil }
        var value = 0
        for k in 0..<11 { value = value * 10 + digitScratch[k] }
        return value * 10 + check
    }

    /// A valid IIN that the generator never issues to a person (serial 8000...9998).
    private mutating func unknownIIN() -> Int {
        while true {
            let day = referenceDay - errorRNG.int(in: 18 * 365...80 * 365)
            let serial = errorRNG.int(in: 8000...9998)
            if let iin = makeIIN(day: day, male: errorRNG.chance(0.5), serial: serial) { return iin }
        }
    }

    // MARK: - Labour, health, education attributes

    private mutating func assignAttributes() {
        for i in members.indices {
            var p = members[i]
            let age = p.age
            let pensionAge = p.male ? 63 : 61
            // Health.
            let disabilityChance = age < 18 ? 0.016 : age < 40 ? 0.026 : age < 60 ? 0.053 : 0.1
            if rng.chance(disabilityChance) {
                if age < 18 {
                    p.disability = .child
                } else {
                    let r = rng.unit()
                    p.disability = r < 0.12 ? .group1 : r < 0.55 ? .group2 : .group3
                }
            }
            let chronicChance = age < 18 ? 0.05 : age < 45 ? 0.14 : age < 65 ? 0.35 : 0.6
            p.chronic = rng.chance(chronicChance) || (p.disability != .none && rng.chance(0.6))
            p.dispensary = p.chronic ? rng.chance(0.8) : (p.disability != .none ? rng.chance(0.6) : rng.chance(0.02))
            if !p.male {
                let pregnancyChance = age >= 20 && age <= 34 ? 0.09 : age >= 18 && age <= 44 ? 0.025 : 0
                p.pregnant = rng.chance(pregnancyChance)
            }
            // Labour.
            if age < 16 {
                p.employment = .child
            } else if age >= pensionAge {
                p.employment = rng.chance(0.12) ? .employed : .retired
                p.pension = 75_000 + rng.below(1_750) * 100
            } else if age <= 22 && rng.chance(age <= 18 ? 0.85 : 0.55) {
                p.employment = .student
            } else if p.disability == .group1 {
                p.employment = .inactive
            } else {
                let r = rng.unit()
                let inactiveShare = p.male ? 0.08 : 0.2
                if r < 0.62 {
                    p.employment = .employed
                } else if r < 0.62 + 0.13 {
                    p.employment = .selfEmployed
                } else if r < 0.75 + 0.055 {
                    p.employment = .unemployed
                } else if r < 0.805 + inactiveShare {
                    p.employment = .inactive
                } else {
                    p.employment = .employed
                }
            }
            if p.employment == .employed || p.employment == .selfEmployed {
                p.sector = drawSector()
                let r = rng.unit()
                p.income = (85_000 + Int(r * r * 900_000)) / 100 * 100
            } else if p.employment == .retired {
                p.income = p.pension
            }
            p.registeredUnemployed = p.employment == .unemployed && rng.chance(0.35)
            p.disabilityBenefit = p.disability != .none && rng.chance(0.92)
            // Justice: alimony debts of divorced fathers; guardianship of incapacitated adults.
            p.alimonyDebtor = p.male && p.marital == .divorced && age >= 22 && age <= 60 && rng.chance(0.12)
            p.guardianship = p.disability == .group1 && age >= 18 && rng.chance(0.15)
            if age < 18 { stats.children += 1 }
            if age >= pensionAge { stats.pensionAge += 1 }
            if p.disability != .none { stats.disabled += 1 }
            members[i] = p
        }
    }

    private static let sectorCumulativeUrban: [Double] = cumulative([
        0.04, 0.13, 0.09, 0.19, 0.08, 0.12, 0.07, 0.07, 0.21,
    ])
    private static let sectorCumulativeRural: [Double] = cumulative([
        0.35, 0.07, 0.06, 0.13, 0.05, 0.13, 0.05, 0.06, 0.10,
    ])

    private static func cumulative(_ weights: [Double]) -> [Double] {
        var sum = 0.0
        return weights.map {
            sum += $0
            return sum
        }
    }

    private mutating func drawSector() -> Sector {
        let index = rng.pick(cumulative: urban ? Self.sectorCumulativeUrban : Self.sectorCumulativeRural)
        return Sector(rawValue: index + 1) ?? .services
    }

    // MARK: - Household-level benefits and housing

    private mutating func assignHousehold() {
        var minors = 0
        var hasEarner = false
        var hasAdultChildOfHead = false
        var singleParent = false
        for p in members {
            if p.relation == .child && p.age < 18 { minors += 1 }
            if p.relation == .child && p.age >= 18 { hasAdultChildOfHead = true }
            if p.employment == .employed || p.employment == .selfEmployed || p.employment == .retired {
                hasEarner = true
            }
        }
        let couple = members.contains { $0.relation == .spouse }
        singleParent = !couple && minors > 0
        largeFamily = minors >= 4
        var p = 0.005
        if largeFamily { p += 0.075 }
        if singleParent { p += 0.04 }
        if !hasEarner { p += 0.1 }
        if minors >= 2 { p += 0.012 }
        if !urban { p *= 1.3 }
        tsa = rng.chance(p)
        let r = rng.unit()
        if urban {
            tenure = r < 0.68 ? .owned : r < 0.88 ? .rented : r < 0.96 ? .relatives : r < 0.99 ? .social : .none
        } else {
            tenure = r < 0.86 ? .owned : r < 0.92 ? .rented : r < 0.98 ? .relatives : r < 0.995 ? .social : .none
        }
        if tsa && tenure == .owned && rng.chance(0.3) { tenure = .relatives }
        let disabledMember = members.contains { $0.disability != .none }
        waitingList = rng.chance(0.025 + (largeFamily ? 0.12 : 0) + (disabledMember ? 0.05 : 0) + (tsa ? 0.05 : 0))
        // Child benefits: the mother of an infant or of a large family.
        let hasInfant = members.contains { $0.age <= 1 }
        if hasInfant || largeFamily {
            if let mother = members.firstIndex(where: {
                !$0.male && $0.age >= 18
                    && ($0.relation == .spouse || $0.relation == .head || $0.relation == .otherRelative)
            }) {
                members[mother].childBenefit = true
            }
        }
        // Children living with grandparents, no parent in the household: often under guardianship.
        if !hasAdultChildOfHead {
            for i in members.indices where members[i].relation == .grandchild && members[i].age < 18 {
                if rng.chance(0.3) { members[i].guardianship = true }
            }
        }
        if largeFamily { stats.largeFamilyHouseholds += 1 }
        if tsa { stats.targetedSocialAssistance += members.count }
    }

    // MARK: - Domestic violence

    private var victimIndex = -1
    private var offenderIndex = -1
    private var reportCount = 0
    private var lastReportDay = 0
    private var protectionOrder = false
    private var policeProtected = false
    private var offenderRegistered = false
    private var restrainingUntil = -1
    private var justiceProtected = false

    private mutating func assignViolence() {
        victimIndex = -1
        offenderIndex = -1
        guard members.count >= 2 else { return }
        let head = members[0]
        if let spouse = members.firstIndex(where: { $0.relation == .spouse }) {
            if head.male && !members[spouse].male && rng.chance(0.022) {
                victimIndex = spouse
                offenderIndex = 0
            } else if !head.male && members[spouse].male && rng.chance(0.015) {
                victimIndex = 0
                offenderIndex = spouse
            }
        }
        if victimIndex < 0, head.male, head.age >= 20,
            let mother = members.firstIndex(where: { $0.relation == .parent && !$0.male }), rng.chance(0.01)
        {
            victimIndex = mother
            offenderIndex = 0
        }
        if victimIndex < 0, let kelin = members.firstIndex(where: { $0.relation == .otherRelative && !$0.male }),
            let husband = members.firstIndex(where: { $0.relation == .child && $0.male && $0.age >= 18 }),
            rng.chance(0.02)
        {
            victimIndex = kelin
            offenderIndex = husband
        }
        guard victimIndex >= 0 else { return }
        reportCount = 1
        while reportCount < 12 && rng.chance(0.42) { reportCount += 1 }
        let u = rng.unit()
        // Skewed towards recent reports: about 8% of victims reported in the last 30 days, which at
        // national scale is some 70,000 protection orders a year.
        let daysSince = 1 + Int(729 * u * (0.4 + 0.6 * u))
        lastReportDay = observed[Self.sourceIndex.police] - daysSince
        protectionOrder = daysSince <= 30
        policeProtected = rng.chance(reportCount >= 3 ? 0.3 : 0.1)
        offenderRegistered = rng.chance(0.75)
        if rng.chance(reportCount >= 3 ? 0.25 : 0.08) {
            restrainingUntil = lastReportDay + rng.int(in: 30...365)
            justiceProtected = rng.chance(0.5)
        } else {
            restrainingUntil = -1
            justiceProtected = false
        }
        members[victimIndex].victim = true
        members[offenderIndex].offender = true
        if policeProtected || restrainingUntil >= 0 || justiceProtected {
            members[victimIndex].moved = rng.chance(0.5)
        } else {
            members[victimIndex].moved = rng.chance(0.05)
        }
        stats.violenceVictims += 1
        if protectionOrder { stats.protectionOrders += 1 }
        if restrainingUntil >= 0 { stats.restrainingOrders += 1 }
        if offenderRegistered { stats.registeredOffenders += 1 }
    }

    // MARK: - Address and phone

    private mutating func makeAddress() -> [UInt8] {
        var a: [UInt8] = []
        a.reserveCapacity(120)
        if region.isCity {
            a.append(contentsOf: Array(region.addressName.utf8))
        } else {
            a.append(contentsOf: Array(region.addressName.utf8))
            a.append(contentsOf: Self.commaSpace)
            if urban {
                a.append(contentsOf: Self.cityPrefix)
                a.append(contentsOf: Array(region.city.utf8))
            } else {
                a.append(contentsOf: AddressParts.villages[rng.below(AddressParts.villages.count)])
            }
        }
        a.append(contentsOf: Self.commaSpace)
        a.append(contentsOf: AddressParts.streets[rng.below(AddressParts.streets.count)])
        a.append(contentsOf: Self.house)
        appendNumber(&a, 1 + rng.below(urban ? 150 : 80))
        if urban && rng.chance(0.75) {
            a.append(contentsOf: Self.flat)
            appendNumber(&a, 1 + rng.below(240))
        }
        return a
    }

    private static let commaSpace = Array(", ".utf8)
    private static let cityPrefix = Array("г. ".utf8)
    private static let house = Array(", д. ".utf8)
    private static let flat = Array(", кв. ".utf8)

    private func appendNumber(_ a: inout [UInt8], _ value: Int) {
        a.append(contentsOf: Array(String(value).utf8))
    }

    private mutating func randomPhone() -> Int {
        let prefix = AddressParts.mobilePrefixes[rng.below(AddressParts.mobilePrefixes.count)]
        return prefix * 10_000_000 + rng.below(10_000_000)
    }

    private mutating func assignContact() {
        address = makeAddress()
        for i in members.indices {
            if members[i].age >= 14 && rng.chance(0.93) { members[i].phone = randomPhone() }
            if !members[i].moved && members[i].age >= 18 && rng.chance(0.003) { members[i].moved = true }
            if members[i].moved {
                members[i].movedAddress = makeAddress()
                members[i].phone = randomPhone()
                stats.movedPersons += 1
            }
        }
    }

    // MARK: - Writing

    private static let dvCount = Array("violence.dv_report_count".utf8)
    private static let lastReport = Array("violence.last_report_date".utf8)
    private static let protectionOrderID = Array("violence.protection_order".utf8)
    private static let protectedSurvivor = Array("violence.protected_survivor".utf8)
    private static let offenderID = Array("violence.offender_registered".utf8)
    private static let restrainingID = Array("violence.restraining_order_until".utf8)
    private static let guardianshipID = Array("social.guardianship".utf8)
    private static let alimonyID = Array("social.alimony_debtor".utf8)
    private static let male = Array("male".utf8)
    private static let female = Array("female".utf8)

    private mutating func writeHousehold(index: Int) throws {
        let householdNumber = (householdIDOffset + index * 387_420_489) % 1_000_000_000
        for p in members {
            try writePopulation(p, household: householdNumber)
            if (p.age >= 16 && rng.chance(0.97)) || (p.age < 16 && (tsa || largeFamily || p.disabilityBenefit)) {
                try writeLabour(p)
            }
            if rng.chance(0.985) { try writeHealth(p) }
            if p.age >= 1 && p.age <= 17 && rng.chance(0.99) { try writeEducation(p) }
            try writePoliceAndJustice(p)
            persons += 1
        }
    }

    private mutating func writePopulation(_ p: Person, household: Int) throws {
        let w = population
        w.beginRow()
        w.digits(p.iin, width: 12)
        w.comma()
        w.raw(observedBytes[0])
        w.comma()
        w.buffer.append(0x48)  // "H"
        w.digits(household, width: 9)
        w.comma()
        w.raw(Relation.bytes[p.relation.rawValue])
        w.comma()
        w.digits(region.code, width: 2)
        w.buffer.append(0x2D)
        w.digits(district, width: 2)
        w.comma()
        let sp = pools[p.surnamePool]
        w.field(p.male ? sp.surnamesMale[p.surname] : sp.surnamesFemale[p.surname])
        w.comma()
        let fp = pools[p.firstPool]
        w.field(p.male ? fp.maleFirst[p.first] : fp.femaleFirst[p.first])
        w.comma()
        if p.father >= 0 {
            let pp = pools[p.fatherPool]
            if p.kazakhPatronymic && !pp.kazakhSon.isEmpty {
                w.field(p.male ? pp.kazakhSon[p.father] : pp.kazakhDaughter[p.father])
            } else {
                w.field(p.male ? pp.patronymicSon[p.father] : pp.patronymicDaughter[p.father])
            }
        }
        w.comma()
        w.date(p.birthDay)
        w.comma()
        w.raw(p.male ? Self.male : Self.female)
        w.comma()
        w.raw(MaritalStatus.bytes[p.marital.rawValue])
        w.comma()
        w.raw(Citizenship.bytes[p.citizenship.rawValue])
        w.comma()
        w.field(p.moved ? p.movedAddress : address)
        w.comma()
        if p.phone > 0 {
            w.buffer.append(0x2B)  // "+"
            w.buffer.append(0x37)  // "7"
            w.digits(p.phone, width: 10)
        }
        try w.endRow()
    }

    private mutating func writeLabour(_ p: Person) throws {
        let w = labour
        w.beginRow()
        w.digits(p.iin, width: 12)
        w.comma()
        w.raw(observedBytes[1])
        w.comma()
        w.raw(EmploymentStatus.bytes[p.employment.rawValue])
        w.comma()
        w.boolean(p.registeredUnemployed)
        w.comma()
        w.raw(Sector.bytes[p.sector.rawValue])
        w.comma()
        w.integer(p.income)
        w.comma()
        w.boolean(tsa)
        w.comma()
        w.integer(p.pension)
        w.comma()
        w.boolean(p.disabilityBenefit)
        w.comma()
        w.boolean(p.childBenefit)
        w.comma()
        w.raw(Tenure.bytes[tenure.rawValue])
        w.comma()
        w.boolean(waitingList)
        w.comma()
        w.boolean(largeFamily)
        try finishRow(w, source: Self.sourceIndex.labour, long: false)
    }

    private mutating func writeHealth(_ p: Person) throws {
        let w = health
        w.beginRow()
        w.digits(p.iin, width: 12)
        w.comma()
        w.raw(observedBytes[2])
        w.comma()
        w.raw(DisabilityGroup.bytes[p.disability.rawValue])
        w.comma()
        w.boolean(p.chronic)
        w.comma()
        w.boolean(p.dispensary)
        w.comma()
        w.boolean(p.pregnant)
        try finishRow(w, source: Self.sourceIndex.health, long: false)
    }

    private mutating func writeEducation(_ p: Person) throws {
        var school = false
        var outOfSchool = false
        var preschool = false
        let age = p.age
        if age <= 5 {
            preschool = rng.chance(age >= 3 ? 0.9 : 0.45)
        } else if age == 6 {
            school = rng.chance(0.6)
            preschool = !school && rng.chance(0.85)
        } else {
            var outChance = 0.006
            if p.disability != .none { outChance += 0.06 }
            if tsa { outChance += 0.015 }
            if age >= 16 && rng.chance(0.35) {
                // Left after grade 9 for college: neither in general school nor out of school.
            } else if rng.chance(outChance) {
                outOfSchool = true
            } else {
                school = true
            }
        }
        let special = rng.chance(p.disability != .none ? 0.6 : 0.04)
        if outOfSchool { stats.outOfSchool += 1 }
        let w = education
        w.beginRow()
        w.digits(p.iin, width: 12)
        w.comma()
        w.raw(observedBytes[3])
        w.comma()
        w.boolean(school)
        w.comma()
        w.boolean(outOfSchool)
        w.comma()
        w.boolean(special)
        w.comma()
        w.boolean(preschool)
        try finishRow(w, source: Self.sourceIndex.education, long: false)
    }

    private mutating func longRow(
        _ w: CSVFileWriter, source: Int, iin: Int, indicator: [UInt8], value: (CSVFileWriter) -> Void
    ) throws {
        w.beginRow()
        w.digits(iin, width: 12)
        w.comma()
        w.raw(indicator)
        w.comma()
        value(w)
        w.comma()
        w.raw(observedBytes[source])
        try finishRow(w, source: source, long: true)
    }

    private mutating func writePoliceAndJustice(_ p: Person) throws {
        let police = Self.sourceIndex.police
        let justice = Self.sourceIndex.justice
        if p.victim {
            let count = reportCount
            let last = lastReportDay
            let order = protectionOrder
            try longRow(self.police, source: police, iin: p.iin, indicator: Self.dvCount) { $0.integer(count) }
            try longRow(self.police, source: police, iin: p.iin, indicator: Self.lastReport) { $0.date(last) }
            try longRow(self.police, source: police, iin: p.iin, indicator: Self.protectionOrderID) {
                $0.boolean(order)
            }
            if policeProtected {
                try longRow(self.police, source: police, iin: p.iin, indicator: Self.protectedSurvivor) {
                    $0.boolean(true)
                }
            }
            if restrainingUntil >= 0 {
                let until = restrainingUntil
                try longRow(self.justice, source: justice, iin: p.iin, indicator: Self.restrainingID) { $0.date(until) }
            }
            if justiceProtected {
                try longRow(self.justice, source: justice, iin: p.iin, indicator: Self.protectedSurvivor) {
                    $0.boolean(true)
                }
            }
        }
        if p.offender && offenderRegistered {
            try longRow(self.police, source: police, iin: p.iin, indicator: Self.offenderID) { $0.boolean(true) }
        }
        if p.guardianship {
            try longRow(self.justice, source: justice, iin: p.iin, indicator: Self.guardianshipID) { $0.boolean(true) }
        }
        if p.alimonyDebtor {
            try longRow(self.justice, source: justice, iin: p.iin, indicator: Self.alimonyID) { $0.boolean(true) }
        }
    }

    // MARK: - Deliberate corruption

    private static let wrongValues: [[UInt8]] = ["maybe", "12.5", "-1", "2026-02-30", "n/a"].map { Array($0.utf8) }
    private static let disallowed: [[[UInt8]]] = [
        // police may not supply these
        ["violence.restraining_order_until", "social.guardianship", "health.disability_group", "violence.unknown_flag"]
            .map { Array($0.utf8) },
        // justice may not supply these
        ["violence.dv_report_count", "violence.offender_registered", "economic.pension", "violence.unknown_flag"]
            .map { Array($0.utf8) },
    ]

    /// Ends the current row, first corrupting it with probability `errorRate`.
    private mutating func finishRow(_ w: CSVFileWriter, source: Int, long: Bool) throws {
        if errorRate > 0 && errorRNG.chance(errorRate) {
            let kinds: [CorruptionKind] =
                long
                ? [.badCheckDigit, .unknownPerson, .wrongType, .disallowedIndicator, .malformedQuoting]
                : [.badCheckDigit, .unknownPerson, .wrongType, .malformedQuoting]
            let kind = kinds[errorRNG.below(kinds.count)]
            corrupt(w, kind: kind, source: source, long: long)
            if let k = CorruptionKind.allCases.firstIndex(of: kind) { corruptions[source][k] += 1 }
        }
        try w.endRow()
    }

    private mutating func corrupt(_ w: CSVFileWriter, kind: CorruptionKind, source: Int, long: Bool) {
        let valueField = long ? 2 : 2 + errorRNG.below(w.fieldCount - 2)
        switch kind {
        case .badCheckDigit:
            let at = w.rowStart + 11
            w.buffer[at] = 0x30 + (w.buffer[at] - 0x30 + 1 + UInt8(errorRNG.below(9))) % 10
        case .unknownPerson:
            let iin = unknownIIN()
            var v = iin
            for k in stride(from: 11, through: 0, by: -1) {
                w.buffer[w.rowStart + k] = UInt8(0x30 + v % 10)
                v /= 10
            }
        case .wrongType:
            w.replaceField(valueField, with: Self.wrongValues[errorRNG.below(Self.wrongValues.count)])
        case .disallowedIndicator:
            let list = Self.disallowed[source == Self.sourceIndex.police ? 0 : 1]
            w.replaceField(1, with: list[errorRNG.below(list.count)])
        case .malformedQuoting:
            let range = w.fieldRange(valueField)
            let original = Array(w.buffer[range])
            var bad: [UInt8]
            if errorRNG.chance(0.5) {
                // A bare quote inside an unquoted field.
                bad = Array(original.prefix(1))
                bad.append(0x22)
                bad.append(contentsOf: original.dropFirst(1))
            } else {
                // Text after the closing quote.
                bad = [0x22]
                bad.append(contentsOf: original)
                bad.append(contentsOf: [0x22, 0x78])
            }
            w.buffer.replaceSubrange(range, with: bad)
        }
    }
}
