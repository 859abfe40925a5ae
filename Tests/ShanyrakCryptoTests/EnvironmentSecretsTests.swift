import Foundation
import ShanyrakCrypto
import Testing

#if canImport(Glibc)
    import Glibc
#endif

struct EnvironmentSecretsTests {
    /// A variable name no other test uses, and a base64 value of 32 random bytes.
    static func variable() -> (name: String, value: String) {
        let name = "SHANYRAK_TEST_SECRET_" + UUID().uuidString.replacingOccurrences(of: "-", with: "_")
        let value = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        return (name, value)
    }

    @Test("a secret taken from the environment is in locked memory and nowhere in the environment any more")
    func takenOutOfTheEnvironment() throws {
        let (name, value) = Self.variable()
        // Foundation has read the environment before: a copy it kept would show below.
        #expect(ProcessInfo.processInfo.environment[name] == nil)
        #expect(setenv(name, value, 1) == 0)
        #expect(ProcessInfo.processInfo.environment[name] == value)
        let entry = try #require(getenv(name)) - (name.utf8.count + 1)
        let entryLength = strlen(entry)
        #expect(entryLength == name.utf8.count + 1 + value.utf8.count)

        let unset = Self.variable().name
        let secrets = EnvironmentSecrets(takingFromProcessEnvironment: [name, unset])

        #expect(try secrets.value(name) == (try SecureBytes(copying: Array(value.utf8))))
        #expect(secrets.contains(name))
        #expect(getenv(name) == nil)
        #expect(ProcessInfo.processInfo.environment[name] == nil)
        #expect(!ProcessInfo.processInfo.environment.values.contains(value))
        // The entry's bytes, name and value, are zeros where they were (glibc never frees setenv's strings,
        // so the memory is still this process's to read).
        let bytes = UnsafeRawBufferPointer(start: entry, count: entryLength)
        #expect(bytes.allSatisfy { $0 == 0 }, "the entry NAME=value was not overwritten")
        // A variable that was not set is not made up.
        #expect(!secrets.contains(unset))
        #expect(try secrets.value(unset) == nil)
    }

    @Test("a child process does not inherit a secret taken from the environment")
    func childDoesNotInherit() throws {
        let (name, value) = Self.variable()
        #expect(setenv(name, value, 1) == 0)
        _ = EnvironmentSecrets(takingFromProcessEnvironment: [name])
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let output = Pipe()
        child.standardOutput = output
        try child.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        #expect(child.terminationStatus == 0)
        #expect(text.contains("PATH="), "env printed nothing: \(text.count) bytes")
        #expect(!text.contains(name) && !text.contains(value))
    }

    @Test("the variables left alone stay, and secrets given directly do not touch the environment")
    func othersStay() throws {
        let (name, value) = Self.variable()
        let (other, otherValue) = Self.variable()
        #expect(setenv(name, value, 1) == 0)
        #expect(setenv(other, otherValue, 1) == 0)
        defer { unsetenv(other) }
        _ = EnvironmentSecrets(takingFromProcessEnvironment: [name])
        #expect(getenv(other).map { String(cString: $0) } == otherValue)
        let given: EnvironmentSecrets = [other: "x"]
        #expect(try given.value(other) == (try SecureBytes(copying: Array("x".utf8))))
        #expect(getenv(other).map { String(cString: $0) } == otherValue)
        #expect(!given.contains(name))
        #expect(try given.value(name) == nil)
    }

    @Test("a key given in the environment is decoded from locked memory; a bad one is named, not shown")
    func keyringReadsTakenKeys() throws {
        let dir = makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Keyring.create(at: dir)
        let master = Array(repeating: UInt8(9), count: 32)
        #expect(setenv(EnvironmentSecrets.masterKey + "_TEST", Data(master).base64EncodedString(), 1) == 0)
        let taken = EnvironmentSecrets(takingFromProcessEnvironment: [EnvironmentSecrets.masterKey + "_TEST"])
        let text = try #require(try taken.value(EnvironmentSecrets.masterKey + "_TEST"))
        let key = try KeyFile.decodeSecret(base64: text, length: 32, what: "environment variable X")
        #expect(key == (try SecureBytes(copying: master)))
        let short = try SecureBytes(copying: Array("c2hvcnQ=".utf8))
        let message = errorText {
            _ = try KeyFile.decodeSecret(base64: short, length: 32, what: "environment variable X")
        }
        #expect(message?.contains("environment variable X") == true)
        #expect(message?.contains("c2hvcnQ") == false)
    }
}
