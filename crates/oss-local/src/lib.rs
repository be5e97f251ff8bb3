//! oss-local (being built).
