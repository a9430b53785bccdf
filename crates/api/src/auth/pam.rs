//! Password checks for the `pam` realm through the system's PAM stack.
//!
//! Service name: `proxmox-ve-auth` (what Proxmox VE 8 uses), configurable. When
//! `/etc/pam.d/proxmox-ve-auth` does not exist, libpam falls back to `/etc/pam.d/other`,
//! which on Debian includes `common-auth` and `common-account`: the same checks
//! (`pam_unix` against `/etc/shadow`). The file this crate ships
//! (`crates/api/pam/proxmox-ve-auth`) makes that explicit.
//!
//! Sequence: `pam_start(service, user)`, `PAM_RHOST` = client address, `pam_authenticate`
//! (empty passwords refused), `pam_acct_mgmt` (expired or locked accounts refused),
//! `pam_end`. Blocking (pam_unix delays failures by about 2 s): call from a blocking thread.

use pam_client::conv_mock::Conversation;
use pam_client::{Context, Flag};

/// Checks `password` for the system user `user`; the error says which PAM step refused.
pub fn authenticate(
    service: &str,
    user: &str,
    password: &str,
    rhost: Option<&str>,
) -> Result<(), String> {
    let conv = Conversation::with_credentials(user, password);
    let mut ctx = Context::new(service, Some(user), conv)
        .map_err(|e| format!("PAM start (service '{service}') failed: {e}"))?;
    if let Some(host) = rhost {
        // informational only (logged by some modules)
        let _ = ctx.set_rhost(Some(host));
    }
    ctx.authenticate(Flag::DISALLOW_NULL_AUTHTOK)
        .map_err(|e| format!("PAM authentication failed: {e}"))?;
    ctx.acct_mgmt(Flag::DISALLOW_NULL_AUTHTOK)
        .map_err(|e| format!("PAM account check failed: {e}"))?;
    Ok(())
}
