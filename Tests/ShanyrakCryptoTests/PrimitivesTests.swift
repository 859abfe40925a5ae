import Foundation
import ShanyrakCore
import ShanyrakCrypto
import Testing

struct KeyedBLAKE2bTests {
    @Test func knownAnswers() throws {
        // Expected values from an independent implementation (Python hashlib.blake2b),
        // the first one being the first keyed entry of the reference blake2b-kat.txt.
        let key64 = try SecureBytes(copying: Array(0..<64))
        #expect(
            try KeyedBLAKE2b.hash([], key: key64, outputLength: 64)
                == hexBytes(
                    "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568"
                ))
        let key32 = try SecureBytes(copying: Array(0..<32))
        #expect(
            try KeyedBLAKE2b.hash(Array("abc".utf8), key: key32)
                == hexBytes("d63a32d3e44738d7907f964316c241adaba0abfeabc32349677578a15a203f7f"))
    }

    @Test func keyMattersAndBadKeysAreRefused() throws {
        let a = try SecureBytes.random(count: 32)
        let b = try SecureBytes.random(count: 32)
        #expect(try KeyedBLAKE2b.hash([1, 2, 3], key: a) == KeyedBLAKE2b.hash([1, 2, 3], key: a))
        #expect(try KeyedBLAKE2b.hash([1, 2, 3], key: a) != KeyedBLAKE2b.hash([1, 2, 3], key: b))
        #expect(throws: CryptoError.self) { try KeyedBLAKE2b.hash([1], key: SecureBytes.random(count: 8)) }
        #expect(throws: CryptoError.self) { try KeyedBLAKE2b.hash([1], key: SecureBytes.random(count: 65)) }
    }
}

struct PseudonymiserTests {
    let p = try! Pseudonymiser(key: SecureBytes.random(count: 32))
    let iin = try! IIN(validating: "900101300017")
    let other = try! IIN(validating: "040512650006")

    @Test func deterministicAndDistinct() throws {
        #expect(p.person(iin) == p.person(iin))
        #expect(p.person(iin) != p.person(other))
        let q = try Pseudonymiser(key: SecureBytes.random(count: 32))
        #expect(p.person(iin) != q.person(iin), "another pseudonym key gives other pseudonyms")
        #expect(!p.person(iin).hex.contains(iin.digits))
    }

    @Test func personAndHouseholdDomainsAreSeparate() {
        #expect(p.person(iin) != p.household(registerID: iin.digits))
        #expect(p.household(registerID: "H-1") == p.household(registerID: "H-1"))
        #expect(p.household(registerID: "H-1") != p.household(registerID: "H-2"))
    }

    @Test func projectPseudonymsDoNotJoin() throws {
        let service = p.person(iin)
        let a = try p.forProject("study-a")
        let b = try p.forProject("study-b")
        #expect(a.project(service) == (try p.forProject("study-a")).project(service))
        #expect(a.project(service) != b.project(service))
        #expect(a.project(service) != service)
        #expect(b.project(service) != service)
        #expect(a.person(iin) != service)
    }

    @Test func wrongKeyLengthIsRefused() {
        #expect(throws: CryptoError.invalidKeyLength(expected: 32, actual: 16)) {
            try Pseudonymiser(key: SecureBytes.random(count: 16))
        }
    }
}

struct Ed25519Tests {
    @Test func rfc8032TestVector1() throws {
        let seed = hexBytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        let key = try Ed25519.SigningKey(seed: SecureBytes(copying: seed))
        #expect(key.publicKey.rawBytes == hexBytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        let sig = key.signature(for: [])
        #expect(
            sig
                == hexBytes(
                    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
                ))
        #expect(key.publicKey.isValidSignature(sig, for: []))
    }

    @Test func signVerifyAndTampering() throws {
        let key = try Ed25519.SigningKey.generate()
        let message = Array("checkpoint 42".utf8)
        let sig = key.signature(for: message)
        #expect(key.publicKey.isValidSignature(sig, for: message))
        var tampered = message
        tampered[0] ^= 1
        #expect(!key.publicKey.isValidSignature(sig, for: tampered))
        var badSig = sig
        badSig[10] ^= 1
        #expect(!key.publicKey.isValidSignature(badSig, for: message))
        #expect(!key.publicKey.isValidSignature(Array(sig.prefix(63)), for: message))
        let other = try Ed25519.SigningKey.generate()
        #expect(!other.publicKey.isValidSignature(sig, for: message))
        #expect(throws: CryptoError.self) { try Ed25519.PublicKey(rawBytes: [1, 2, 3]) }
        #expect(throws: CryptoError.self) { try Ed25519.SigningKey(seed: SecureBytes.random(count: 31)) }
    }
}

struct SecureBytesTests {
    @Test func equalityAndRedaction() throws {
        let a = try SecureBytes(copying: [1, 2, 3, 4])
        #expect(a == (try SecureBytes(copying: [1, 2, 3, 4])))
        #expect(a != (try SecureBytes(copying: [1, 2, 3, 5])))
        #expect(a != (try SecureBytes(copying: [1, 2, 3])))
        #expect(a.withUnsafeBytes { Array($0) } == [1, 2, 3, 4])
        #expect(!String(describing: a).contains("1, 2"))
        #expect(String(describing: a).contains("redacted"))
        #expect(try SecureBytes.random(count: 32) != SecureBytes.random(count: 32))
        #expect(constantTimeEquals([1, 2], [1, 2]))
        #expect(!constantTimeEquals([1, 2], [1, 3]))
        #expect(!constantTimeEquals([1, 2], [1, 2, 3]))
    }
}
