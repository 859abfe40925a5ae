/// Relation of a household member to the head, as the population register records it.
enum Relation: Int {
    case head, spouse, child, parent, grandchild, sibling, otherRelative, nonRelative

    static let bytes: [[UInt8]] = [
        "head", "spouse", "child", "parent", "grandchild", "sibling", "other_relative", "non_relative",
    ].map { Array($0.utf8) }
}

enum MaritalStatus: Int {
    case single, married, divorced, widowed

    static let bytes: [[UInt8]] = ["single", "married", "divorced", "widowed"].map { Array($0.utf8) }
}

enum Citizenship: Int {
    case kz, foreign, stateless

    static let bytes: [[UInt8]] = ["kz", "foreign", "stateless"].map { Array($0.utf8) }
}

enum EmploymentStatus: Int {
    case employed, selfEmployed, unemployed, retired, student, inactive, child

    static let bytes: [[UInt8]] = [
        "employed", "self_employed", "unemployed", "retired", "student", "inactive", "child",
    ].map { Array($0.utf8) }
}

enum DisabilityGroup: Int {
    case none, group1, group2, group3, child

    static let bytes: [[UInt8]] = ["none", "group1", "group2", "group3", "child"].map { Array($0.utf8) }
}

enum Sector: Int {
    case none, agriculture, industry, construction, trade, transport, education, health, publicSector, services

    static let bytes: [[UInt8]] = [
        "none", "agriculture", "industry", "construction", "trade", "transport", "education", "health", "public",
        "services",
    ].map { Array($0.utf8) }
}

enum Tenure: Int {
    case owned, rented, social, relatives, none

    static let bytes: [[UInt8]] = ["owned", "rented", "social", "relatives", "none"].map { Array($0.utf8) }
}

/// One generated person: everything the six feeds say about them. Lives only while its
/// household is being written.
struct Person {
    var relation: Relation = .head
    var male = false
    var age = 0
    var birthDay = 0
    /// The IIN as a 12-digit number (leading zeros for births 2000-2009).
    var iin = 0

    // Names: pool 0 Kazakh, 1 Russian; `father` -1 when no patronymic is registered.
    var surnamePool = 0
    var surname = 0
    var firstPool = 0
    var first = 0
    var fatherPool = 0
    var father = -1
    var kazakhPatronymic = false

    var marital: MaritalStatus = .single
    var citizenship: Citizenship = .kz
    /// Ten digits `7XXXXXXXXX`, 0 for none.
    var phone = 0
    /// Personal address differs from the household's (a survivor who moved, for instance).
    var moved = false
    var movedAddress: [UInt8] = []

    // Labour.
    var employment: EmploymentStatus = .child
    var sector: Sector = .none
    var income = 0
    var pension = 0
    var registeredUnemployed = false
    var disabilityBenefit = false
    var childBenefit = false

    // Health.
    var disability: DisabilityGroup = .none
    var chronic = false
    var dispensary = false
    var pregnant = false

    // Justice and police.
    var guardianship = false
    var alimonyDebtor = false
    var victim = false
    var offender = false
}
