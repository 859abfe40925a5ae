extension Duration {
    /// The duration in seconds, fractions included: for metrics, log lines and intervals given to C APIs.
    package var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
