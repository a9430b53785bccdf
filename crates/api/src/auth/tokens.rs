//! API tokens, as PVE keeps them: `user.cfg` lists each token
//! (`token:<userid>!<tokenid>:<expire>:<privsep>:<comment>:`) and `priv/token.cfg` holds its
//! secret (`<userid>!<tokenid> <uuid>` per line). A request authenticates with the header
//! `Authorization: PVEAPIToken=<userid>!<tokenid>=<secret>` and needs no CSRF token.
//!
//! A token with privilege separation (`privsep` 1, the default) has only the privileges its
//! own ACLs grant; Quorate has no ACLs yet, so such a token may read and manage only what is
//! its own. Without separation it acts with its user's rights.

use std::path::Path;

use cluster::PveDir;
use serde_json::{json, Value};

use super::users::split_userid;

/// A token's settings from `user.cfg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// `<userid>!<tokenid>`.
    pub full_id: String,
    /// Unix time, 0 = never.
    pub expire: i64,
    pub privsep: bool,
    pub comment: String,
}

impl TokenInfo {
    pub fn tokenid(&self) -> &str {
        self.full_id.split_once('!').map_or("", |(_, t)| t)
    }

    /// The object the token endpoints answer.
    pub fn to_json(&self) -> Value {
        let mut v = json!({ "expire": self.expire, "privsep": u8::from(self.privsep) });
        if !self.comment.is_empty() {
            v["comment"] = self.comment.clone().into();
        }
        v
    }

    fn line(&self) -> String {
        format!(
            "token:{}:{}:{}:{}:",
            self.full_id,
            self.expire,
            u8::from(self.privsep),
            self.comment
        )
    }
}

/// Whether `tokenid` follows PVE's rule: a letter, then letters, digits, `.`, `-`, `_`.
pub fn valid_tokenid(tokenid: &str) -> bool {
    let mut chars = tokenid.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && tokenid.len() >= 2
        && tokenid.len() <= 64
}

/// `(full token id, secret)` from an `Authorization` header value.
pub fn parse_header(value: &str) -> Option<(String, String)> {
    let rest = value.trim().strip_prefix("PVEAPIToken")?;
    let rest = rest.strip_prefix('=').or_else(|| rest.strip_prefix(' '))?;
    let (full_id, secret) = rest.trim().rsplit_once('=')?;
    let (userid, tokenid) = full_id.split_once('!')?;
    (split_userid(userid).is_some() && valid_tokenid(tokenid) && !secret.is_empty())
        .then(|| (full_id.to_string(), secret.to_string()))
}

/// The tokens listed in `user.cfg` text.
pub fn tokens_in(user_cfg: &str) -> Vec<TokenInfo> {
    user_cfg
        .lines()
        .filter_map(|l| l.trim().strip_prefix("token:"))
        .filter_map(|rest| {
            let f: Vec<&str> = rest.split(':').collect();
            Some(TokenInfo {
                full_id: f.first()?.to_string(),
                expire: f.get(1).and_then(|e| e.trim().parse().ok()).unwrap_or(0),
                privsep: f.get(2).map(|p| p.trim()) != Some("0"),
                comment: f.get(3).unwrap_or(&"").to_string(),
            })
        })
        .collect()
}

/// `user.cfg` with `token` added after its user's line (or at the end), replacing an
/// earlier entry of the same id.
pub fn with_token(user_cfg: &str, token: &TokenInfo) -> String {
    let userid = token.full_id.split_once('!').map_or("", |(u, _)| u);
    let mut lines: Vec<String> = without_token(user_cfg, &token.full_id)
        .lines()
        .map(str::to_string)
        .collect();
    let user_line = lines
        .iter()
        .position(|l| l.strip_prefix("user:").and_then(|r| r.split(':').next()) == Some(userid));
    match user_line {
        Some(i) => lines.insert(i + 1, token.line()),
        None => lines.push(token.line()),
    }
    lines.join("\n") + "\n"
}

/// `user.cfg` without the entry of `full_id`.
pub fn without_token(user_cfg: &str, full_id: &str) -> String {
    user_cfg
        .lines()
        .filter(|l| {
            l.trim()
                .strip_prefix("token:")
                .and_then(|r| r.split(':').next())
                != Some(full_id)
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `token.cfg` with the secret of `full_id` set (`Some`) or removed (`None`).
pub fn with_secret(token_cfg: &str, full_id: &str, secret: Option<&str>) -> String {
    let mut out: String = token_cfg
        .lines()
        .filter(|l| l.split_whitespace().next() != Some(full_id))
        .map(|l| format!("{l}\n"))
        .collect();
    if let Some(secret) = secret {
        out.push_str(&format!("{full_id} {secret}\n"));
    }
    out
}

/// The token the secret belongs to, if it is valid at `now` (see the module documentation).
pub fn verify(pve: &PveDir, full_id: &str, secret: &str, now: i64) -> Result<TokenInfo, String> {
    let user_cfg = read(&user_cfg_path(pve));
    let token = tokens_in(&user_cfg)
        .into_iter()
        .find(|t| t.full_id == full_id)
        .ok_or_else(|| format!("no such token '{full_id}'"))?;
    if token.expire > 0 && now > token.expire {
        return Err(format!("token '{full_id}' expired"));
    }
    let stored = read(&token_cfg_path(pve))
        .lines()
        .find_map(|l| {
            let (id, value) = l.trim().split_once(char::is_whitespace)?;
            (id == full_id).then(|| value.trim().to_string())
        })
        .ok_or_else(|| format!("no secret for token '{full_id}'"))?;
    // constant-time comparison (it needs equal lengths; the length is no secret)
    if stored.len() != secret.len() || !openssl::memcmp::eq(stored.as_bytes(), secret.as_bytes()) {
        return Err(format!("invalid secret for token '{full_id}'"));
    }
    Ok(token)
}

/// A new random secret in UUID form (version 4), as PVE generates them.
pub fn new_secret() -> Result<String, String> {
    let mut b = [0u8; 16];
    openssl::rand::rand_bytes(&mut b).map_err(|e| format!("no random bytes: {e}"))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

pub fn user_cfg_path(pve: &PveDir) -> std::path::PathBuf {
    pve.root().join("user.cfg")
}

pub fn token_cfg_path(pve: &PveDir) -> std::path::PathBuf {
    pve.root().join("priv/token.cfg")
}

/// A file's text; empty when it does not exist.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[cfg(test)]
mod tests;
