//! `quorate-probe dcdb-inject HEX…`: joins the DCDB group as an extra member, multicasts each
//! hex-encoded message in agreed order, and leaves. Lab tests use it to play a hostile peer.

use std::time::Duration;

use rust_corosync::cpg;
use rust_corosync::{CsError, DispatchFlags};

const DCDB_GROUP: &str = "pve_dcdb_v1\0";

pub fn inject(messages: &[String]) -> Result<(), String> {
    let bytes: Vec<Vec<u8>> = messages
        .iter()
        .map(|m| decode_hex(m))
        .collect::<Result<_, _>>()?;
    let model = cpg::ModelData::ModelV1(cpg::Model1Data {
        flags: cpg::Model1Flags::None,
        deliver_fn: None,
        confchg_fn: None,
        totem_confchg_fn: None,
    });
    fn cs(call: &'static str) -> impl Fn(CsError) -> String {
        move |e| format!("{call} failed: {e}")
    }
    let handle = cpg::initialize(&model, 0).map_err(cs("cpg_initialize"))?;
    cpg::join(&handle, DCDB_GROUP).map_err(cs("cpg_join"))?;
    for msg in &bytes {
        loop {
            match cpg::mcast_joined(&handle, cpg::Guarantee::TypeAgreed, msg) {
                Err(CsError::CsErrTryAgain) => std::thread::sleep(Duration::from_millis(100)),
                other => break other.map_err(cs("cpg_mcast_joined"))?,
            }
        }
    }
    // Let the messages go out before leaving.
    let _ = cpg::dispatch(&handle, DispatchFlags::All);
    std::thread::sleep(Duration::from_millis(500));
    cpg::leave(&handle, DCDB_GROUP).map_err(cs("cpg_leave"))?;
    Ok(())
}

fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits in {text}"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(|e| format!("{text}: {e}")))
        .collect()
}
