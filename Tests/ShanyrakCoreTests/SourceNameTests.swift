import ShanyrakCore
import Testing

@Suite struct SourceNameTests {
    @Test(arguments: ["police", "health", "a", "edu_2", String(repeating: "x", count: 32)])
    func acceptsPlainNames(_ name: String) {
        #expect(SourceName.isValid(name))
    }

    @Test(arguments: [
        "", "Police", "2police", "_police", "po-lice", "po lice", "police\n", String(repeating: "x", count: 33),
        "caf\u{E9}", "cafe\u{301}", "pol\u{0131}ce",
    ])
    func refusesEverythingElse(_ name: String) {
        #expect(!SourceName.isValid(name))
    }
}
