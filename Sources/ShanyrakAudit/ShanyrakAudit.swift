// The ShanyrakAudit module. See docs/architecture.md.
