// The ShanyrakStore module. See docs/architecture.md.
