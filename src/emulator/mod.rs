//! The local Cognito emulator (SPEC §9). Placeholder until the emulator lands.

use std::path::Path;

pub async fn main(config: Option<&Path>) -> Result<(), std::io::Error> {
    let _ = config;
    Err(std::io::Error::other("the emulator is not built yet"))
}
