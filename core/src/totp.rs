//! TOTP (RFC 6238) with replay protection by high-water mark. (being written)
