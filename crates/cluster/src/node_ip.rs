//! The local node's name and addresses: the short host name, its cluster-facing IP
//! (`remote_node_ip` falling back to the resolver, as the original does for the local node) and
//! the addresses configured on this machine's interfaces.

use std::ffi::CStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};

use crate::links::{InputError, Links};
use crate::{Error, Result};

/// The short host name (`uname -n` up to the first dot).
pub fn short_hostname() -> Result<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return Err(Error::Invalid(format!(
            "cannot read the host name: {}",
            std::io::Error::last_os_error()
        )));
    }
    let name = CStr::from_bytes_until_nul(&buf)
        .map_err(|_| Error::Invalid("host name is not NUL-terminated".into()))?
        .to_string_lossy();
    Ok(name.split('.').next().unwrap_or_default().to_string())
}

fn is_loopback(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.octets()[0] == 127,
        IpAddr::V6(v6) => *v6 == Ipv6Addr::LOCALHOST,
    }
}

/// The first non-loopback address `name` resolves to.
pub fn resolve_node_ip(name: &str) -> Result<IpAddr> {
    let found = (name, 0)
        .to_socket_addrs()
        .map(|addrs| addrs.map(|a| a.ip()).find(|ip| !is_loopback(ip)))
        .ok()
        .flatten();
    found.ok_or_else(|| {
        Error::Invalid(format!(
            "unable to resolve node name '{name}' to a non-loopback IP address - add it to \
             /etc/hosts or DNS"
        ))
    })
}

/// Every address configured on a local interface.
pub fn local_addresses() -> Result<Vec<IpAddr>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(Error::Invalid(format!(
            "cannot list the local network addresses: {}",
            std::io::Error::last_os_error()
        )));
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list returned by getifaddrs.
        let ifa = unsafe { &*cur };
        if !ifa.ifa_addr.is_null() {
            // SAFETY: the family field tells which sockaddr variant this is.
            match i32::from(unsafe { (*ifa.ifa_addr).sa_family }) {
                libc::AF_INET => {
                    let sa = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                    out.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr))));
                }
                libc::AF_INET6 => {
                    let sa = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                    out.push(IpAddr::V6(Ipv6Addr::from(sa.sin6_addr.s6_addr)));
                }
                _ => {}
            }
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// Checks that every link address (an IP, or a name resolved now) is configured on this
/// machine: corosync can only bind to local addresses.
pub fn check_links_local(
    links: &Links,
    local: &[IpAddr],
    resolve: impl Fn(&str) -> Option<IpAddr>,
) -> Result<(), InputError> {
    for (n, link) in links {
        let ip = match link.address.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => resolve(&link.address).ok_or_else(|| {
                InputError(format!(
                    "link{n}: cannot resolve '{}' to an IP address",
                    link.address
                ))
            })?,
        };
        if !local.contains(&ip) {
            return Err(InputError(format!(
                "link{n}: address '{}' is not configured on any interface of this node; \
                 give one of its own addresses ({})",
                link.address,
                local
                    .iter()
                    .filter(|ip| !is_loopback(ip))
                    .map(IpAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::parse_links;

    #[test]
    fn links_must_be_local() {
        let local: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "10.0.0.1".parse().unwrap()];
        let resolve = |name: &str| (name == "me").then(|| "10.0.0.1".parse().unwrap());
        let ok = parse_links([(0, "10.0.0.1"), (1, "me,priority=3")]).unwrap();
        assert!(check_links_local(&ok, &local, resolve).is_ok());
        let bad = parse_links([(0, "10.99.9.9")]).unwrap();
        let e = check_links_local(&bad, &local, resolve).unwrap_err();
        assert!(
            e.0.starts_with("link0: address '10.99.9.9' is not configured"),
            "{e}"
        );
        assert!(e.0.ends_with("(10.0.0.1)"), "{e}");
        let unknown = parse_links([(2, "elsewhere")]).unwrap();
        let e = check_links_local(&unknown, &local, resolve).unwrap_err();
        assert_eq!(e.0, "link2: cannot resolve 'elsewhere' to an IP address");
    }

    #[test]
    fn loopback_addresses_are_present_locally() {
        let all = local_addresses().unwrap();
        assert!(all.iter().any(is_loopback), "{all:?}");
        assert!(!short_hostname().unwrap().contains('.'));
        assert!(resolve_node_ip("localhost").is_err());
    }
}
