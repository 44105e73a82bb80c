//! `cognito-sidecar demo`. Placeholder until the emulator lands.

pub async fn main() -> Result<(), std::io::Error> {
    Err(std::io::Error::other("the demo is not built yet"))
}
