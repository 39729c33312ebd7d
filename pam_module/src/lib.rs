//! pam_twofold.so (being written).
