//! Gathers a [`StatusSnapshot`] from the running corosync, as `corosync-quorumtool` does.

use std::time::Duration;

use corosync_client::{Error, Votequorum};

use super::{
    ctime, flags, ClusterInfo, Member, QdeviceInfo, QuorumInfo, RingId, StatusSnapshot,
    VotequorumInfo,
};

/// Reads quorum, votes and membership from corosync; `corosync_conf` (the cluster copy, if
/// any) supplies the "Cluster information" block.
pub fn collect(corosync_conf: Option<&str>) -> Result<StatusSnapshot, Error> {
    let membership = corosync_client::membership(Duration::from_secs(5))?;
    let provider = corosync_client::cmap_string("quorum.provider")?;
    let node_id = corosync_client::local_node_id()?;
    let names = corosync_client::node_names()?;
    let ips = corosync_client::member_ips()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);

    let votequorum = if membership.provider_configured {
        Some(Votequorum::connect()?)
    } else {
        None
    };
    let local = votequorum.as_ref().map(|vq| vq.info(0)).transpose()?;
    let mut members = Vec::new();
    for id in &membership.members {
        let info = match &votequorum {
            Some(vq) => match vq.info(*id) {
                Ok(info) => Some(info),
                Err(e) if e.code == 12 => None, // CS_ERR_NOT_EXIST: not known to votequorum
                Err(e) => return Err(e),
            },
            None => None,
        };
        members.push(Member {
            node_id: *id,
            votes: info.as_ref().map_or(0, |i| i.votes),
            flags: info.as_ref().map_or(0, |i| i.flags),
            name: names.get(id).cloned(),
            address: ips.get(id).cloned(),
            local: *id == node_id,
        });
    }
    let qdevice = local.as_ref().and_then(|l| {
        members
            .iter()
            .any(|m| m.flags & flags::QDEVICE_REGISTERED != 0)
            .then(|| QdeviceInfo {
                name: l.qdevice_name.clone(),
                votes: l.qdevice_votes,
            })
    });
    Ok(StatusSnapshot {
        cluster: corosync_conf.and_then(ClusterInfo::from_corosync_conf),
        quorum: QuorumInfo {
            date: ctime::ctime(now, local_utc_offset(now)),
            provider: membership
                .provider_configured
                .then(|| provider.unwrap_or_else(|| "corosync_votequorum".into())),
            node_id,
            ring_id: RingId {
                node: membership.ring_node,
                seq: membership.ring_seq,
            },
            quorate: membership.quorate,
        },
        votequorum: local.map(|l| VotequorumInfo {
            expected_votes: l.expected_votes,
            highest_expected: l.highest_expected,
            total_votes: l.total_votes,
            quorum: l.quorum,
            flags: l.flags,
        }),
        members,
        qdevice,
    })
}

/// Seconds east of UTC of the local time zone at `unix` (what `ctime(3)` applies).
fn local_utc_offset(unix: i64) -> i64 {
    let t = unix as libc::time_t;
    // SAFETY: tm is plain data filled by localtime_r; both pointers are valid.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        tm.tm_gmtoff
    }
}
