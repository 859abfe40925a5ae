// The ShanyrakCrypto module. See docs/architecture.md.
