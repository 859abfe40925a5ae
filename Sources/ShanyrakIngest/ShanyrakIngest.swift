// The ShanyrakIngest module. See docs/architecture.md.
