import ArgumentParser
import Foundation
import ShanyrakAccess
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest
import ShanyrakStore

/// What `shanyrak demo` writes to `DIR/demo-accounts.json` (mode 0600) for scripts.
struct DemoAccounts: Codable {
    struct Account: Codable {
        var role: String
        var userID: Int64
        var token: String
        var district: String?
        var source: String?
        var households: [String]

        enum CodingKeys: String, CodingKey {
            case role, token, district, source, households
            case userID = "user_id"
        }
    }

    /// One account per role.
    var accounts: [Account]
    /// A household in the social worker's and the GBV specialist's caseloads.
    var exampleHousehold: String
    /// A person of that household with a police record (violence indicators in a GBV person view).
    var examplePerson: String

    enum CodingKeys: String, CodingKey {
        case accounts
        case exampleHousehold = "example_household"
        case examplePerson = "example_person"
    }

    static let fileName = "demo-accounts.json"
    /// The demo's metrics token (mode 0600, beside the accounts): `serve --metrics-token-file` takes it.
    static let metricsTokenFileName = "metrics.token"

    func account(_ role: Role) -> Account? { accounts.first { $0.role == role.rawValue } }
}

extension Shanyrak {
    /// `shanyrak demo`: a synthetic population behind the API, one account per role.
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Create a demo data folder (example keys, synthetic population, one account per role) and serve it.",
            discussion: """
                A new folder is initialised, filled with a generated population (every feed ingested), given one \
                account per role with caseloads for the social worker and the GBV specialist, and served. The \
                accounts (role, user id, token, assigned households) are written to DIR/demo-accounts.json \
                (mode 0600), and a token that opens GET /metrics to DIR/metrics.token (mode 0600). A folder that \
                already holds a finished demo (demo-accounts.json) is served again as it is; any other existing \
                folder is refused.
                """)

        @Option(name: .long, help: "The demo data folder.")
        var data = "demo-data"
        @Option(name: .long, help: "The key folder (the example keys are for demos only).")
        var keys = "keys-example"
        @Option(name: .long, help: "The policies folder.")
        var policies = "policies"
        @Option(name: .long, help: "Households to generate.")
        var households = 10_000
        @Option(name: .long, help: "Seed of the generated population.")
        var seed: UInt64 = 20_260_101
        @Option(name: .long, help: "Address to listen on.")
        var host = "127.0.0.1"
        @Option(name: .long, help: "Port to listen on.")
        var port = 8080
        @Flag(name: .long, help: "Prepare the folder and print the accounts, but do not serve.")
        var noServe = false

        func validate() throws {
            guard households >= 1 else { throw ValidationError("--households must be at least 1") }
        }

        func run() async throws {
            try await runReportingErrors {
                let dir = URL(fileURLWithPath: data).standardizedFileURL
                let accountsURL = dir.appendingPathComponent(DemoAccounts.fileName)
                let accounts: DemoAccounts
                if FileManager.default.fileExists(atPath: dir.path) {
                    guard FileManager.default.fileExists(atPath: accountsURL.path),
                        let saved = try? JSONDecoder().decode(DemoAccounts.self, from: Data(contentsOf: accountsURL))
                    else {
                        throw CLIError(
                            "\(dir.path) exists and is not a finished demo folder; remove it (rm -rf \(data)) "
                                + "or choose another --data")
                    }
                    print("shanyrak demo: reusing the finished demo folder \(dir.path)")
                    accounts = saved
                } else {
                    accounts = try await prepare(dir)
                    try write(accounts, to: accountsURL)
                }
                // Made for a folder of an earlier demo too, which had none.
                let metricsTokenURL = dir.appendingPathComponent(DemoAccounts.metricsTokenFileName)
                if !FileManager.default.fileExists(atPath: metricsTokenURL.path) {
                    try KeyFile.writeSecret(SecureBytes.random(count: 32), to: metricsTokenURL)
                }
                printSession(accounts, accountsURL: accountsURL, metricsTokenURL: metricsTokenURL)
                guard !noServe else { return }
                let metricsToken = try loadMetricsToken(file: metricsTokenURL.path)
                let context = try ServiceContext.open(data: dir.path)
                try await context.serve(host: host, port: port, metricsToken: metricsToken)
            }
        }

        private func prepare(_ dir: URL) async throws -> DemoAccounts {
            let initCommand = try Init.parse(["--data", dir.path, "--keys", keys, "--policies", policies])
            try await initCommand.run()
            let feeds = dir.appendingPathComponent("feeds")
            print("generating \(households) households into \(feeds.path) ...")
            _ = try PopulationGenerator(households: households, seed: seed).write(to: feeds)
            let context = try ServiceContext.open(data: dir.path)
            let dataKeys = try DataKeys.load(from: context.registry, keyring: context.keyring)
            let pseudonymiser = try Pseudonymiser(key: context.keyring.pseudonymKey)
            let ingester = Ingester(
                registry: context.registry, keys: dataKeys, pseudonymiser: pseudonymiser, catalog: context.catalog)
            for source in PopulationGenerator.sources {
                let mapping = try SourceMapping.load(
                    source: source, directory: context.policiesDirectory.appendingPathComponent("sources"),
                    catalog: context.catalog)
                let summary = try ingester.ingest(file: feeds.appendingPathComponent("\(source).csv"), mapping: mapping)
                try await OperatorAudit.recordIngest(context, summary: summary, mapping: mapping)
                print(
                    "  \(source): \(summary.rowsAccepted) rows accepted, \(summary.rowsQuarantined) quarantined, "
                        + String(format: "%.1f s", summary.seconds))
            }
            let session = try await context.accessSession()
            do {
                let accounts = try await createAccounts(
                    session.service, feeds: feeds, pseudonymiser: pseudonymiser)
                await session.close()
                return accounts
            } catch {
                await session.close()
                throw error
            }
        }

        /// One account per role; caseloads in the district of a household with a police record.
        private func createAccounts(_ service: AccessService, feeds: URL, pseudonymiser: Pseudonymiser) async throws
            -> DemoAccounts
        {
            // Register households and districts by IIN (the first five columns never hold commas).
            var personHousehold: [String: (household: String, district: String)] = [:]
            var householdsByDistrict: [String: [String]] = [:]
            let population = try String(contentsOf: feeds.appendingPathComponent("population.csv"), encoding: .utf8)
            for line in population.split(separator: "\n").dropFirst() {
                let f = line.split(separator: ",", maxSplits: 5, omittingEmptySubsequences: false)
                guard f.count >= 5 else { continue }
                let (iin, household, district) = (String(f[0]), String(f[2]), String(f[4]))
                if personHousehold[iin] == nil {
                    personHousehold[iin] = (household, district)
                }
                if householdsByDistrict[district]?.last != household {
                    householdsByDistrict[district, default: []].append(household)
                }
            }
            // Victims in the police feed (falling back to anyone named in it).
            var victims: [String] = []
            var named: [String] = []
            let police = try String(contentsOf: feeds.appendingPathComponent("police.csv"), encoding: .utf8)
            for line in police.split(separator: "\n").dropFirst() {
                let f = line.split(separator: ",", maxSplits: 3, omittingEmptySubsequences: false)
                guard f.count >= 2, personHousehold[String(f[0])] != nil else { continue }
                // Report counts and protection orders name victims; offender registrations name offenders.
                if f[1] == "violence.dv_report_count" || f[1] == "violence.protection_order" {
                    victims.append(String(f[0]))
                } else {
                    named.append(String(f[0]))
                }
            }
            guard let victim = victims.first ?? named.first, let home = personHousehold[victim] else {
                throw CLIError("the generated population has no police records; try more --households")
            }
            let district = home.district
            var violenceHouseholds: [String] = []
            for iin in victims + named {
                guard let h = personHousehold[iin], h.district == district, !violenceHouseholds.contains(h.household)
                else { continue }
                violenceHouseholds.append(h.household)
                if violenceHouseholds.count == 3 { break }
            }
            let others = (householdsByDistrict[district] ?? []).filter { !violenceHouseholds.contains($0) }
            let socialWorkerHouseholds = [home.household] + others.prefix(4)

            let requestID = commandLineRequestID()
            func add(_ name: String, _ role: Role, district: String?, organisation: String?, source: String? = nil)
                async throws -> (Int64, String)
            {
                try await service.addStaff(
                    name: name, role: role, district: district, organisation: organisation, source: source, actor: nil,
                    requestID: requestID)
            }
            func assign(_ staff: Int64, _ registerIDs: [String]) async throws -> [String] {
                var out: [String] = []
                for id in registerIDs {
                    try await service.setAssignment(
                        staffID: staff, household: .registerID(id), assigned: true, actor: nil, requestID: requestID)
                    out.append(pseudonymiser.household(registerID: id).hex)
                }
                return out
            }
            var accounts: [DemoAccounts.Account] = []
            let sw = try await add("Demo Social Worker", .socialWorker, district: district, organisation: "Akimat")
            accounts.append(
                .init(
                    role: Role.socialWorker.rawValue, userID: sw.0, token: sw.1, district: district, source: nil,
                    households: try await assign(sw.0, socialWorkerHouseholds)))
            let gbv = try await add(
                "Demo GBV Specialist", .gbvSpecialist, district: district, organisation: "Crisis Centre")
            accounts.append(
                .init(
                    role: Role.gbvSpecialist.rawValue, userID: gbv.0, token: gbv.1, district: district, source: nil,
                    households: try await assign(gbv.0, violenceHouseholds)))
            for (name, role, org) in [
                ("Demo Researcher", Role.researcher, "Institute"), ("Demo Administrator", .administrator, "Ministry"),
                ("Demo Auditor", .auditor, "Ombudsman"),
            ] {
                let a = try await add(name, role, district: role == .researcher ? district : nil, organisation: org)
                accounts.append(
                    .init(
                        role: role.rawValue, userID: a.0, token: a.1, district: role == .researcher ? district : nil,
                        source: nil, households: []))
            }
            let agency = try await add(
                "Demo Police Feed", .agency, district: nil, organisation: "Police", source: "police")
            accounts.append(
                .init(
                    role: Role.agency.rawValue, userID: agency.0, token: agency.1, district: nil, source: "police",
                    households: []))
            let person = try pseudonymiser.person(IIN(validating: victim)).hex
            return DemoAccounts(
                accounts: accounts, exampleHousehold: pseudonymiser.household(registerID: home.household).hex,
                examplePerson: person)
        }

        private func write(_ accounts: DemoAccounts, to url: URL) throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let bytes = try encoder.encode(accounts)
            guard
                FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600])
            else { throw CLIError("cannot create \(url.path)") }
            try bytes.write(to: url)
            chmod(url.path, 0o600)
        }

        private func printSession(_ accounts: DemoAccounts, accountsURL: URL, metricsTokenURL: URL) {
            let base = "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)"
            print("\ndemo accounts (also in \(accountsURL.path), mode 0600):")
            for a in accounts.accounts {
                let scope = a.households.isEmpty ? "" : ", caseload of \(a.households.count)"
                print(
                    "  \(a.role) (user \(a.userID)\(a.district.map { ", district \($0)" } ?? "")\(scope)): \(a.token)")
            }
            func token(_ role: Role) -> String { accounts.account(role)?.token ?? "TOKEN" }
            func curl(_ role: Role, _ path: String) -> String {
                "curl -s -H 'Authorization: Bearer \(token(role))' '\(base)\(path)'"
            }
            let household = "/v1/households/" + accounts.exampleHousehold
            let person = "/v1/persons/" + accounts.examplePerson
            print(
                """

                try:
                  # the household card, as the social worker
                  \(curl(.socialWorker, household))
                  # a person view with violence indicators, as the GBV specialist
                  \(curl(.gbvSpecialist, person))
                  # the same request, denied to the researcher (403, audited)
                  \(curl(.researcher, person))
                  # the auditor: a signed checkpoint and the entries about that person
                  curl -s \(base)/v1/audit/checkpoint
                  \(curl(.auditor, "/v1/audit/entries?subject=" + accounts.examplePerson))
                  # Prometheus metrics: only the metrics token opens them (\(metricsTokenURL.path), mode 0600)
                  curl -s -H "Authorization: Bearer $(cat '\(metricsTokenURL.path)')" '\(base)/metrics'

                """)
            fflush(nil)
        }
    }
}
