//! Facade placeholder.
