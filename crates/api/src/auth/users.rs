//! Which users may log in: `root@pam` always; anyone else only when `/etc/pve/user.cfg`
//! lists them as enabled and not expired (PVE's rule: a PAM account alone is not enough, the
//! user must also be added to the cluster, e.g. with `pveum user add <name>@pam`).
//!
//! `user.cfg` lines: `user:<userid>:<enable>:<expire>:<firstname>:<lastname>:<email>:...`;
//! `enable` `0` disables, `expire` is a Unix time (0 or empty: never).

use cluster::PveDir;

/// The super user.
pub const ROOT: &str = "root@pam";

/// Splits `name@realm`; both parts must be non-empty and free of blanks, `:` and `/`.
pub fn split_userid(userid: &str) -> Option<(&str, &str)> {
    let (name, realm) = userid.rsplit_once('@')?;
    let clean =
        |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c == ':' || c == '/');
    (clean(name) && clean(realm) && name.len() <= 60).then_some((name, realm))
}

/// Ok if `userid` may use the API at `now`, else why not.
pub fn check_user_enabled(pve: &PveDir, userid: &str, now: i64) -> Result<(), String> {
    if userid == ROOT {
        return Ok(());
    }
    let path = pve.root().join("user.cfg");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    check_in_user_cfg(&text, userid, now)
}

fn check_in_user_cfg(text: &str, userid: &str, now: i64) -> Result<(), String> {
    let entry = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("user:"))
        .map(|rest| rest.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&userid))
        .ok_or_else(|| format!("no such user ('{userid}')"))?;
    if entry.get(1).map(|e| e.trim()) == Some("0") {
        return Err(format!("user '{userid}' is disabled"));
    }
    let expire: i64 = entry
        .get(2)
        .and_then(|e| e.trim().parse().ok())
        .unwrap_or(0);
    if expire > 0 && now > expire {
        return Err(format!("account '{userid}' expired"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userids() {
        assert_eq!(split_userid("root@pam"), Some(("root", "pam")));
        assert_eq!(split_userid("a@b@pve"), Some(("a@b", "pve")));
        for bad in ["root", "@pam", "root@", "ro ot@pam", "a:b@pam"] {
            assert_eq!(split_userid(bad), None, "{bad}");
        }
    }

    #[test]
    fn user_cfg_rules() {
        let cfg = "user:root@pam:1:0:::root@localhost::\n\
                   user:alice@pam:1:0::::::\n\
                   user:bob@pam:0:0::::::\n\
                   user:carol@pam:1:1000::::::\n\
                   group:admins:alice@pam::\n";
        check_in_user_cfg(cfg, "alice@pam", 2000).unwrap();
        assert!(check_in_user_cfg(cfg, "bob@pam", 2000)
            .unwrap_err()
            .contains("disabled"));
        check_in_user_cfg(cfg, "carol@pam", 999).unwrap();
        assert!(check_in_user_cfg(cfg, "carol@pam", 2000)
            .unwrap_err()
            .contains("expired"));
        assert!(check_in_user_cfg(cfg, "dave@pam", 0)
            .unwrap_err()
            .contains("no such user"));
        let pve = PveDir::new("/nonexistent/quorate-test");
        check_user_enabled(&pve, ROOT, 0).unwrap();
        assert!(check_user_enabled(&pve, "alice@pam", 0).is_err());
    }
}
