//! Small hashing helpers.

use openssl::hash::{hash, MessageDigest};

/// HMAC (RFC 2104) over any OpenSSL digest; works with every key length, including empty keys
/// (which OpenSSL's own HMAC key objects refuse on some versions).
pub(crate) fn hmac(md: MessageDigest, key: &[u8], msg: &[u8]) -> Vec<u8> {
    let block = md.block_size();
    let mut k = vec![0u8; block];
    if key.len() > block {
        let h = hash(md, key).expect("digest");
        k[..h.len()].copy_from_slice(&h);
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |x: u8| k.iter().map(|b| b ^ x).collect::<Vec<u8>>();
    let mut inner = pad(0x36);
    inner.extend_from_slice(msg);
    let inner = hash(md, &inner).expect("digest");
    let mut outer = pad(0x5c);
    outer.extend_from_slice(&inner);
    hash(md, &outer).expect("digest").to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn rfc_vectors() {
        // RFC 4231 case 1 and case 6 (key longer than the block)
        assert_eq!(
            hex(&hmac(MessageDigest::sha256(), &[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&hmac(
                MessageDigest::sha256(),
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        // RFC 2202 case 2
        assert_eq!(
            hex(&hmac(
                MessageDigest::sha1(),
                b"Jefe",
                b"what do ya want for nothing?"
            )),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }
}
