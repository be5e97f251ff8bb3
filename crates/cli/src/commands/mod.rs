//! One module per subcommand; each holds its arguments and a `run`.

pub mod get;
pub mod list;
pub mod token;
pub mod upload;
pub mod url;
