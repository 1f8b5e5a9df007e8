//! `csvseal keygen --secret-key K --public-key P`: an Ed25519 key pair in
//! minisign's file formats. Prints the key ID and the public key's path;
//! never the secret key.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::args::EXIT_OK;
use super::output;
use super::terminal::escape;

pub const EXAMPLES: &str = "\
Examples:
  # A key pair: sign with trades.key (keep it private), give trades.pub to whoever checks
  csvseal keygen --secret-key trades.key --public-key trades.pub
  # The next key, for rotation: verify --key takes both public keys meanwhile
  csvseal keygen --secret-key trades-2027.key --public-key trades-2027.pub --json

The secret key file is created with mode 0600 and never replaces a file. It
is not password-protected: keep it on an encrypted disk or in a secret store.
Debian's minisign reads both files (minisign -Vm FILE.csv -p trades.pub).

Exit codes: 0 made; 2 usage or I/O error (nothing is left half-made); 3 a key file exists.";

#[derive(Args)]
pub struct KeygenArgs {
    /// Where to create the secret key (mode 0600; never replaced).
    #[arg(long, value_name = "PATH")]
    secret_key: PathBuf,
    /// Where to create the public key (never replaced).
    #[arg(long, value_name = "PATH")]
    public_key: PathBuf,
    /// Report as one JSON document on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs `keygen`; returns the exit code.
pub fn run(args: KeygenArgs) -> i32 {
    match csvseal::signing::keygen(&args.secret_key, &args.public_key) {
        Ok(public) => {
            if args.json {
                output::print_json(&json!({
                    "ok": true,
                    "key_id": public.id.to_string(),
                    "public_key": args.public_key,
                    "secret_key": args.secret_key,
                }));
            } else {
                out!(
                    "{}",
                    escape(&format!(
                        "key ID {}: public key {}, secret key {}",
                        public.id,
                        args.public_key.display(),
                        args.secret_key.display()
                    ))
                );
            }
            EXIT_OK
        }
        Err(e) => output::failed("keygen", e, args.json),
    }
}
