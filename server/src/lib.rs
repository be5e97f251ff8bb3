//! app-token-server (being built).
