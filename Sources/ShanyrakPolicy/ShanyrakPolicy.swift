// The ShanyrakPolicy module. See docs/architecture.md.
