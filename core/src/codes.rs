//! Backup codes and out-of-band codes: generation, hashing, parsing. (being written)
