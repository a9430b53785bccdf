//! The `--link0` … `--link7` options shared by `create`, `add` and `addnode`.

use clap::Args;

/// Corosync links, each `[address=]<IP>[,priority=<0..255>]`.
#[derive(Args, Debug, Clone, Default)]
pub struct LinkArgs {
    /// Address and priority of corosync link 0: [address=]<IP>[,priority=<0..255>].
    #[arg(long)]
    link0: Option<String>,
    #[arg(long)]
    link1: Option<String>,
    #[arg(long)]
    link2: Option<String>,
    #[arg(long)]
    link3: Option<String>,
    #[arg(long)]
    link4: Option<String>,
    #[arg(long)]
    link5: Option<String>,
    #[arg(long)]
    link6: Option<String>,
    #[arg(long)]
    link7: Option<String>,
}

impl LinkArgs {
    /// The links given on the command line: `(link number, property string)`.
    pub fn given(&self) -> impl Iterator<Item = (u8, &str)> {
        [
            &self.link0,
            &self.link1,
            &self.link2,
            &self.link3,
            &self.link4,
            &self.link5,
            &self.link6,
            &self.link7,
        ]
        .into_iter()
        .enumerate()
        .filter_map(|(n, v)| v.as_deref().map(|v| (n as u8, v)))
    }
}
