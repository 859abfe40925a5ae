/// One of the 20 first-level units of Kazakhstan (17 oblasts and 3 cities of republican
/// significance), with the parameters the generator draws from.
///
/// Figures are rounded; their sources and the assumptions are in `docs/synthetic-population.md`.
struct Region: Sendable {
    /// Two-digit code used in `district_code` (`RR-DD`), in the Bureau of National Statistics' table order.
    let code: Int
    /// Name as it appears in an address (Russian, as the register writes it).
    let addressName: String
    /// The region's main city.
    let city: String
    /// Resident population, thousands (BNS, start of 2025, rounded).
    let populationThousands: Int
    /// Mean household size (persons).
    let meanHouseholdSize: Double
    /// Share of one-person households.
    let singleShare: Double
    /// Share of the population living in the main city (the rest: district villages and towns).
    let cityShare: Double
    /// Number of district codes: `01` is the main city, `02...` the rural districts;
    /// for the three cities every code is an urban district.
    let districts: Int
    /// Share of households with Russian or other European surnames (the rest Kazakh and other Central Asian).
    let slavicShare: Double
    /// True for Astana, Almaty and Shymkent.
    let isCity: Bool

    /// The 20 regions, codes 01...20.
    static let all: [Region] = [
        Region(
            code: 1, addressName: "область Абай", city: "Семей", populationThousands: 603,
            meanHouseholdSize: 3.2, singleShare: 0.20, cityShare: 0.55, districts: 12, slavicShare: 0.20,
            isCity: false),
        Region(
            code: 2, addressName: "Акмолинская область", city: "Кокшетау", populationThousands: 785,
            meanHouseholdSize: 2.9, singleShare: 0.24, cityShare: 0.35, districts: 19, slavicShare: 0.40,
            isCity: false),
        Region(
            code: 3, addressName: "Актюбинская область", city: "Актобе", populationThousands: 940,
            meanHouseholdSize: 3.6, singleShare: 0.16, cityShare: 0.65, districts: 13, slavicShare: 0.10,
            isCity: false),
        Region(
            code: 4, addressName: "Алматинская область", city: "Конаев", populationThousands: 1_550,
            meanHouseholdSize: 3.9, singleShare: 0.13, cityShare: 0.10, districts: 11, slavicShare: 0.12,
            isCity: false),
        Region(
            code: 5, addressName: "Атырауская область", city: "Атырау", populationThousands: 700,
            meanHouseholdSize: 4.2, singleShare: 0.11, cityShare: 0.50, districts: 8, slavicShare: 0.03,
            isCity: false),
        Region(
            code: 6, addressName: "Западно-Казахстанская область", city: "Уральск", populationThousands: 690,
            meanHouseholdSize: 3.3, singleShare: 0.19, cityShare: 0.50, districts: 13, slavicShare: 0.20,
            isCity: false),
        Region(
            code: 7, addressName: "Жамбылская область", city: "Тараз", populationThousands: 1_220,
            meanHouseholdSize: 4.2, singleShare: 0.11, cityShare: 0.35, districts: 11, slavicShare: 0.08,
            isCity: false),
        Region(
            code: 8, addressName: "область Жетісу", city: "Талдыкорган", populationThousands: 700,
            meanHouseholdSize: 3.6, singleShare: 0.15, cityShare: 0.30, districts: 10, slavicShare: 0.12,
            isCity: false),
        Region(
            code: 9, addressName: "Карагандинская область", city: "Караганда", populationThousands: 1_130,
            meanHouseholdSize: 2.8, singleShare: 0.26, cityShare: 0.55, districts: 12, slavicShare: 0.40,
            isCity: false),
        Region(
            code: 10, addressName: "Костанайская область", city: "Костанай", populationThousands: 830,
            meanHouseholdSize: 2.7, singleShare: 0.27, cityShare: 0.35, districts: 18, slavicShare: 0.50,
            isCity: false),
        Region(
            code: 11, addressName: "Кызылординская область", city: "Кызылорда", populationThousands: 840,
            meanHouseholdSize: 4.6, singleShare: 0.08, cityShare: 0.40, districts: 9, slavicShare: 0.02,
            isCity: false),
        Region(
            code: 12, addressName: "Мангистауская область", city: "Актау", populationThousands: 780,
            meanHouseholdSize: 4.4, singleShare: 0.09, cityShare: 0.35, districts: 7, slavicShare: 0.04,
            isCity: false),
        Region(
            code: 13, addressName: "Павлодарская область", city: "Павлодар", populationThousands: 750,
            meanHouseholdSize: 2.8, singleShare: 0.26, cityShare: 0.50, districts: 13, slavicShare: 0.40,
            isCity: false),
        Region(
            code: 14, addressName: "Северо-Казахстанская область", city: "Петропавловск",
            populationThousands: 530, meanHouseholdSize: 2.6, singleShare: 0.29, cityShare: 0.40, districts: 14,
            slavicShare: 0.55,
            isCity: false),
        Region(
            code: 15, addressName: "Туркестанская область", city: "Туркестан", populationThousands: 2_150,
            meanHouseholdSize: 5.0, singleShare: 0.06, cityShare: 0.10, districts: 17, slavicShare: 0.02,
            isCity: false),
        Region(
            code: 16, addressName: "область Ұлытау", city: "Жезказган", populationThousands: 222,
            meanHouseholdSize: 3.2, singleShare: 0.20, cityShare: 0.55, districts: 5, slavicShare: 0.15,
            isCity: false),
        Region(
            code: 17, addressName: "Восточно-Казахстанская область", city: "Усть-Каменогорск",
            populationThousands: 720, meanHouseholdSize: 2.8, singleShare: 0.26, cityShare: 0.50, districts: 12,
            slavicShare: 0.40,
            isCity: false),
        Region(
            code: 18, addressName: "г. Астана", city: "Астана", populationThousands: 1_510,
            meanHouseholdSize: 3.3, singleShare: 0.20, cityShare: 1, districts: 5, slavicShare: 0.15,
            isCity: true),
        Region(
            code: 19, addressName: "г. Алматы", city: "Алматы", populationThousands: 2_280,
            meanHouseholdSize: 3.1, singleShare: 0.22, cityShare: 1, districts: 8, slavicShare: 0.30,
            isCity: true),
        Region(
            code: 20, addressName: "г. Шымкент", city: "Шымкент", populationThousands: 1_250,
            meanHouseholdSize: 4.6, singleShare: 0.08, cityShare: 1, districts: 5, slavicShare: 0.05,
            isCity: true),
    ]

    /// Probability that a household is drawn in each region: population weight divided by
    /// mean household size, so that persons (not households) follow the population weights.
    static let householdWeights: [Double] = {
        let raw = all.map { Double($0.populationThousands) / $0.meanHouseholdSize }
        let total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }()

    /// Share of the population in each region.
    static let populationWeights: [Double] = {
        let total = Double(all.reduce(0) { $0 + $1.populationThousands })
        return all.map { Double($0.populationThousands) / total }
    }()
}
