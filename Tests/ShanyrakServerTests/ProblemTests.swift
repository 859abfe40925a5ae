import Foundation
import ShanyrakAccess
import Testing

@testable import ShanyrakServer

/// Problem bodies are written directly when their texts need no escaping; the bytes must be `JSONEncoder`'s.
struct ProblemTests {
    @Test("problem bodies are JSONEncoder's bytes, written directly or not")
    func bodiesMatchTheEncoder() {
        let fixed: [Problem] = [
            .unauthenticated, .accessDenied, .auditUnavailable, .internalError, .notFound, .tooLarge,
            .unsupportedMediaType, .badRequest("parameter id is not 32 hex digits"),
            .nothingLoaded("every row was quarantined"),
        ]
        // Texts that must be escaped, or that are not ASCII: these go to the encoder.
        let awkward: [Problem] = [
            .badRequest(#"field "name" is missing"#), .badRequest(#"a \ backslash"#), .badRequest("line\nbreak"),
            .badRequest("tab\there"), .nothingLoaded("Қазақ тілі"), .badRequest("slash / kept"),
        ]
        for base in fixed + awkward {
            for instance in [nil, "urn:uuid:6f1c2a40-8d3e-4b6a-9c1f-0e2d3c4b5a69", #"urn:"quoted""#] {
                var problem = base
                problem.instance = instance
                #expect(problem.json() == problem.encoderJSON(), "\(problem)")
            }
        }
        // The server's own problems all take the direct path.
        #expect(Problem.fieldOrderHolds)
        for problem in fixed {
            #expect([problem.detail, problem.title, problem.type].allSatisfy(CanonicalViewJSON.isPlain))
        }
        #expect(!CanonicalViewJSON.isPlain("line\nbreak") && !CanonicalViewJSON.isPlain(#"a"b"#))
    }
}
