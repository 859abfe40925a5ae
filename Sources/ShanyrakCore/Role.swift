/// A staff role. Policies scope over roles; the service never infers more from one.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
    /// Sees the household cards of the families assigned to them.
    case socialWorker = "social_worker"
    /// Works with survivors: violence indicators of their own cases, in person views.
    case gbvSpecialist = "gbv_specialist"
    /// Receives anonymised extracts only; no record views.
    case researcher
    /// Manages accounts, caseloads, policies and the catalog.
    case administrator
    /// Verifies the audit log.
    case auditor
    /// An agency system bound to one feed source.
    case agency
}
