//! The subcommands' bodies. These are the binary's edge: they may use `anyhow`.

pub mod check;
pub mod serve;
pub mod vectorize;
pub mod worker;
